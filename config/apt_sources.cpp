#include "config/apt_sources.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "base/error.hpp"

namespace config {
namespace {

constexpr std::string_view kSpace = " \t\r\n";
constexpr std::string_view kArmorBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(kSpace);
  return s.substr(first, last - first + 1);
}

std::vector<std::string> split(std::string_view s, std::string_view separators) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < s.size()) {
    const auto start = s.find_first_not_of(separators, pos);
    if (start == std::string_view::npos) break;
    auto end = s.find_first_of(separators, start);
    if (end == std::string_view::npos) end = s.size();
    words.emplace_back(s.substr(start, end - start));
    pos = end;
  }
  return words;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string strip_trailing_slash(std::string_view uri) {
  while (uri.size() > 1 && uri.back() == '/') uri.remove_suffix(1);
  return std::string(uri);
}

[[noreturn]] void fail_at(const std::filesystem::path& file, int line, std::string_view reason) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to parse apt source '" + file.string() + ":" +
                                               std::to_string(line) + "': " + std::string(reason));
}

// apt accepts yes/no and a few synonyms for boolean fields and options.
bool parse_bool(std::string_view value, const std::filesystem::path& file, int line) {
  const std::string v = lower(trim(value));
  if (v == "yes" || v == "true" || v == "1") return true;
  if (v == "no" || v == "false" || v == "0") return false;
  fail_at(file, line, "expected yes or no, got '" + v + "'");
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

// "[arch=amd64 signed-by=/k.gpg]" contents into `source`. Unknown options
// (lang=, target=, ...) do not change which repository is meant: ignored.
void apply_one_line_options(std::string_view options, AptSource& source) {
  for (const auto& option : split(options, kSpace)) {
    const auto eq = option.find('=');
    if (eq == std::string::npos || eq == 0) fail_at(source.file, source.line, "option '" + option + "' is not key=value");
    std::string key = lower(std::string_view(option).substr(0, eq));
    const std::string value = option.substr(eq + 1);
    if (!key.empty() && (key.back() == '+' || key.back() == '-')) key.pop_back();
    if (key == "arch") {
      source.architectures = split(value, ",");
    } else if (key == "signed-by") {
      source.signed_by = split(value, ",");
    } else if (key == "trusted") {
      source.trusted = parse_bool(value, source.file, source.line);
    }
  }
}

// One line of sources.list; returns nullopt for blank lines, comments and deb-src.
std::optional<AptSource> parse_one_line(std::string_view line, const std::filesystem::path& file, int number) {
  if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  line = trim(line);
  if (line.empty()) return std::nullopt;

  AptSource source;
  source.file = file;
  source.line = number;
  const auto type_end = std::min(line.find_first_of(kSpace), line.size());
  const std::string_view type = line.substr(0, type_end);
  if (type != "deb" && type != "deb-src") fail_at(file, number, "unknown type '" + std::string(type) + "'");
  std::string_view rest = trim(line.substr(type_end));
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) fail_at(file, number, "'[' without a closing ']'");
    apply_one_line_options(rest.substr(1, close - 1), source);
    rest = trim(rest.substr(close + 1));
  }
  const auto words = split(rest, kSpace);
  if (words.size() < 2) fail_at(file, number, "expected a URI and a suite after '" + std::string(type) + "'");
  if (type == "deb-src") return std::nullopt;
  source.uri = strip_trailing_slash(words[0]);
  source.suite = words[1];
  source.components.assign(words.begin() + 2, words.end());
  if (source.suite.ends_with('/') && !source.components.empty()) {
    fail_at(file, number, "a suite ending in '/' (flat repository) takes no components");
  }
  return source;
}

struct Field {
  std::string value;
  int line = 0;
};

struct Stanza {
  std::vector<std::pair<std::string, Field>> fields;  // name lowercased, file order
  int line = 0;

  const Field* find(std::string_view name) const {
    for (const auto& [key, field] : fields) {
      if (key == name) return &field;
    }
    return nullptr;
  }
};

std::vector<std::string> required_words(const Stanza& stanza, std::string_view name,
                                        const std::filesystem::path& file) {
  const Field* field = stanza.find(name);
  if (field == nullptr) fail_at(file, stanza.line, "stanza has no '" + std::string(name) + "' field");
  auto words = split(field->value, kSpace);
  if (words.empty()) fail_at(file, field->line, "field '" + std::string(name) + "' is empty");
  return words;
}

// Signed-By holds either keyring paths / fingerprints or a whole key block.
void apply_signed_by(const Field& field, AptSource& source) {
  const std::string_view value = trim(field.value);
  if (value.find(kArmorBegin) != std::string_view::npos) {
    source.signed_by_key = std::string(value) + "\n";
  } else {
    source.signed_by = split(value, " \t\r\n,");
  }
}

void append_stanza_sources(const Stanza& stanza, const std::filesystem::path& file,
                           std::vector<AptSource>& out) {
  const auto types = required_words(stanza, "types", file);
  for (const auto& type : types) {
    if (type != "deb" && type != "deb-src") fail_at(file, stanza.line, "unknown type '" + type + "'");
  }
  const auto uris = required_words(stanza, "uris", file);
  const auto suites = required_words(stanza, "suites", file);
  if (const Field* enabled = stanza.find("enabled"); enabled && !parse_bool(enabled->value, file, enabled->line)) {
    return;
  }
  if (std::find(types.begin(), types.end(), "deb") == types.end()) return;

  AptSource base;
  base.file = file;
  base.line = stanza.line;
  if (const Field* f = stanza.find("components")) base.components = split(f->value, kSpace);
  if (const Field* f = stanza.find("architectures")) base.architectures = split(f->value, kSpace);
  if (const Field* f = stanza.find("signed-by")) apply_signed_by(*f, base);
  if (const Field* f = stanza.find("trusted")) base.trusted = parse_bool(f->value, file, f->line);

  for (const auto& uri : uris) {
    for (const auto& suite : suites) {
      if (suite.ends_with('/') && !base.components.empty()) {
        fail_at(file, stanza.line, "a suite ending in '/' (flat repository) takes no components");
      }
      AptSource source = base;
      source.uri = strip_trailing_slash(uri);
      source.suite = suite;
      out.push_back(std::move(source));
    }
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    throw base::Error(base::ErrorKind::kFailed,
                     "Failed to read apt sources '" + path.string() + "': " + std::strerror(e))
        .with_errno(e);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::vector<AptSource> parse_one_line_sources(std::string_view text, const std::filesystem::path& file) {
  std::vector<AptSource> sources;
  int number = 0;
  for (const auto line : split_lines(text)) {
    ++number;
    if (auto source = parse_one_line(line, file, number)) sources.push_back(std::move(*source));
  }
  return sources;
}

std::vector<AptSource> parse_deb822_sources(std::string_view text, const std::filesystem::path& file) {
  std::vector<AptSource> sources;
  Stanza stanza;
  int number = 0;
  auto finish = [&] {
    if (!stanza.fields.empty()) append_stanza_sources(stanza, file, sources);
    stanza = Stanza{};
  };
  for (const auto raw : split_lines(text)) {
    ++number;
    const std::string_view line = raw.ends_with('\r') ? raw.substr(0, raw.size() - 1) : raw;
    if (line.starts_with('#')) continue;  // comments may sit inside a stanza
    if (trim(line).empty()) {
      finish();
      continue;
    }
    if (line.starts_with(' ') || line.starts_with('\t')) {
      if (stanza.fields.empty()) fail_at(file, number, "continuation line without a field");
      const std::string_view content = trim(line);
      stanza.fields.back().second.value.append("\n").append(content == "." ? "" : content);
      continue;
    }
    const auto colon = line.find(':');
    std::string name = colon == std::string_view::npos ? std::string() : lower(trim(line.substr(0, colon)));
    if (name.empty() || name.find_first_of(kSpace) != std::string::npos) {
      fail_at(file, number, "expected 'Field: value'");
    }
    if (stanza.find(name) != nullptr) fail_at(file, number, "field '" + name + "' appears twice in a stanza");
    if (stanza.fields.empty()) stanza.line = number;
    stanza.fields.emplace_back(std::move(name), Field{std::string(trim(line.substr(colon + 1))), number});
  }
  finish();
  return sources;
}

std::vector<AptSource> read_apt_sources(const std::filesystem::path& etc_apt) {
  std::vector<AptSource> sources;
  auto append = [&sources](std::vector<AptSource> more) {
    sources.insert(sources.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  };
  const auto list = etc_apt / "sources.list";
  if (std::filesystem::exists(list)) append(parse_one_line_sources(read_file(list), list));

  const auto dir = etc_apt / "sources.list.d";
  if (!std::filesystem::is_directory(dir)) return sources;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".list" || ext == ".sources")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    const std::string text = read_file(file);
    append(file.extension() == ".list" ? parse_one_line_sources(text, file) : parse_deb822_sources(text, file));
  }
  return sources;
}

std::optional<AptSource> find_debian_source(const std::vector<AptSource>& sources, std::string_view suite,
                                            std::string_view component) {
  for (const auto& source : sources) {
    if (source.suite != suite) continue;
    if (std::find(source.components.begin(), source.components.end(), component) != source.components.end()) {
      return source;
    }
  }
  return std::nullopt;
}

}  // namespace config
