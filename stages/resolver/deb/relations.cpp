#include "stages/resolver/deb/relations.hpp"

#include <cctype>

#include "base/error.hpp"
#include "stages/resolver/deb/deb_version.hpp"

namespace stage::resolver {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '-' || c == '.';
}

// A cursor over one alternative's text; errors name the field and the text.
class Scanner {
 public:
  Scanner(std::string_view text, std::string_view field) : text_(text), field_(field) {}

  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }
  bool at_end() {
    skip_space();
    return pos_ >= text_.size();
  }
  char peek() { return at_end() ? '\0' : text_[pos_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  std::string_view take_while(bool (*pred)(char)) {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && pred(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  // Text up to (not including) `close`, which is consumed.
  std::string_view take_until(char close, std::string_view what) {
    const std::size_t end = text_.find(close, pos_);
    if (end == std::string_view::npos) fail("unterminated " + std::string(what));
    const std::string_view inner = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return inner;
  }
  [[noreturn]] void fail(const std::string& why) const {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to parse " + std::string(field_) + " relation '" +
                                                 std::string(text_) + "': " + why);
  }

 private:
  std::string_view text_;
  std::string_view field_;
  std::size_t pos_ = 0;
};

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) words.emplace_back(s.substr(start, i - start));
  }
  return words;
}

RelOp parse_op(Scanner& sc) {
  sc.skip_space();
  if (sc.eat('<')) {
    if (sc.eat('<')) return RelOp::kLess;
    if (sc.eat('=')) return RelOp::kLessEqual;
    return RelOp::kLessEqual;  // obsolete '<'
  }
  if (sc.eat('>')) {
    if (sc.eat('>')) return RelOp::kGreater;
    if (sc.eat('=')) return RelOp::kGreaterEqual;
    return RelOp::kGreaterEqual;  // obsolete '>'
  }
  if (sc.eat('=')) return RelOp::kEqual;
  sc.fail("missing version operator");
}

RelationView parse_one(std::string_view text, std::string_view field) {
  Scanner sc(text, field);
  RelationView rel;
  sc.skip_space();
  rel.name = sc.take_while(is_name_char);
  if (rel.name.empty()) sc.fail("missing package name");
  if (!std::isalnum(static_cast<unsigned char>(rel.name.front()))) sc.fail("package name must start with an alphanumeric");
  if (sc.eat(':')) {
    rel.arch_qualifier = sc.take_while(is_name_char);
    if (rel.arch_qualifier.empty()) sc.fail("empty architecture qualifier");
  }
  if (sc.eat('(')) {
    rel.op = parse_op(sc);
    sc.skip_space();
    std::string_view v = sc.take_until(')', "version constraint");
    while (!v.empty() && is_space(v.back())) v.remove_suffix(1);
    if (v.empty()) sc.fail("empty version");
    if (!is_valid_version(v)) sc.fail("invalid version '" + std::string(v) + "'");
    rel.version = v;
  }
  while (!sc.at_end()) {
    if (sc.eat('[')) {
      auto words = split_words(sc.take_until(']', "architecture list"));
      if (words.empty()) sc.fail("empty architecture list");
      rel.arch_list.insert(rel.arch_list.end(), words.begin(), words.end());
    } else if (sc.eat('<')) {
      std::string_view inner = sc.take_until('>', "restriction list");
      if (split_words(inner).empty()) sc.fail("empty restriction list");
      rel.restrictions.push_back(inner);
    } else {
      sc.fail("unexpected text after package name");
    }
  }
  return rel;
}

Relation to_relation(const RelationView& view) {
  Relation rel;
  rel.name = view.name;
  rel.arch_qualifier = view.arch_qualifier;
  rel.op = view.op;
  rel.version = view.version;
  rel.arch_list.assign(view.arch_list.begin(), view.arch_list.end());
  rel.restrictions.assign(view.restrictions.begin(), view.restrictions.end());
  return rel;
}

}  // namespace

std::string_view to_string(RelOp op) noexcept {
  switch (op) {
    case RelOp::kAny: return "";
    case RelOp::kLess: return "<<";
    case RelOp::kLessEqual: return "<=";
    case RelOp::kEqual: return "=";
    case RelOp::kGreaterEqual: return ">=";
    case RelOp::kGreater: return ">>";
  }
  return "";
}

bool version_satisfies(std::string_view version, RelOp op, std::string_view constraint) noexcept {
  if (op == RelOp::kAny) return true;
  const int c = compare_versions(version, constraint);
  switch (op) {
    case RelOp::kAny: return true;
    case RelOp::kLess: return c < 0;
    case RelOp::kLessEqual: return c <= 0;
    case RelOp::kEqual: return c == 0;
    case RelOp::kGreaterEqual: return c >= 0;
    case RelOp::kGreater: return c > 0;
  }
  return false;
}

std::string Relation::to_string() const {
  std::string out = name;
  if (!arch_qualifier.empty()) out += ":" + arch_qualifier;
  if (op != RelOp::kAny) out += " (" + std::string(resolver::to_string(op)) + " " + version + ")";
  return out;
}

bool Relation::applies_to(std::string_view arch) const {
  if (arch_list.empty()) return true;
  const bool negated = arch_list.front().starts_with('!');
  for (const std::string& a : arch_list) {
    std::string_view word = a;
    if (word.starts_with('!')) word.remove_prefix(1);
    const bool match = word == arch || word == "any" || word == "linux-any";
    if (match) return !negated;
  }
  return negated;
}

RelationViewList parse_relation_views(std::string_view text, std::string_view field) {
  RelationViewList out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view group = text.substr(start, comma - start);
    const bool last = comma == text.size();
    start = comma + 1;
    if (group.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      // A trailing comma is tolerated (as apt does); an empty group is not.
      if (last && !out.empty()) break;
      if (last && text.find_first_not_of(" \t\r\n") == std::string_view::npos) break;
      base::fail(base::ErrorKind::kInvalidInput,
                "Failed to parse " + std::string(field) + " relation '" + std::string(text) + "': empty group");
    }
    AlternativeViews alts;
    std::size_t a = 0;
    while (a <= group.size()) {
      std::size_t bar = group.find('|', a);
      if (bar == std::string_view::npos) bar = group.size();
      alts.push_back(parse_one(group.substr(a, bar - a), field));
      a = bar + 1;
    }
    out.push_back(std::move(alts));
  }
  return out;
}

RelationList parse_relations(std::string_view text, std::string_view field) {
  RelationList out;
  for (const AlternativeViews& views : parse_relation_views(text, field)) {
    Alternatives& alts = out.emplace_back();
    alts.reserve(views.size());
    for (const RelationView& view : views) alts.push_back(to_relation(view));
  }
  return out;
}

std::string to_string(const Alternatives& group) {
  std::string out;
  for (const Relation& r : group) {
    if (!out.empty()) out += " | ";
    out += r.to_string();
  }
  return out;
}

}  // namespace stage::resolver
