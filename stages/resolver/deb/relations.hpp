// Relationship fields of binary packages: Depends, Pre-Depends, Provides,
// Conflicts, Breaks, Replaces (Debian Policy 7.1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stage::resolver {

enum class RelOp { kAny, kLess, kLessEqual, kEqual, kGreaterEqual, kGreater };

std::string_view to_string(RelOp op) noexcept;  // "", "<<", "<=", "=", ">=", ">>"

// True when `version` satisfies "op constraint" in dpkg order.
bool version_satisfies(std::string_view version, RelOp op, std::string_view constraint) noexcept;

struct Relation {
  std::string name;
  std::string arch_qualifier;  // "", "any", "native" or an architecture
  RelOp op = RelOp::kAny;
  std::string version;
  std::vector<std::string> arch_list;      // "[amd64 !i386]" entries as written
  std::vector<std::string> restrictions;   // "<!nocheck> <stage1>" lists, as written

  // "name:qual (op version)", for messages.
  std::string to_string() const;
  // Whether the "[...]" list lets this relation apply on `arch`.
  bool applies_to(std::string_view arch) const;
};

// One comma-separated group: alternatives separated by '|'.
using Alternatives = std::vector<Relation>;
using RelationList = std::vector<Alternatives>;

// A Relation as views into the text it was parsed from: for callers that
// keep that text alive anyway (the Universe's Provides), without copies.
struct RelationView {
  std::string_view name;
  std::string_view arch_qualifier;
  RelOp op = RelOp::kAny;
  std::string_view version;
  std::vector<std::string_view> arch_list;
  std::vector<std::string_view> restrictions;
};
using AlternativeViews = std::vector<RelationView>;
using RelationViewList = std::vector<AlternativeViews>;

// Parses a relationship field. `field` names it in errors. Throws base::Error
// (kInvalidInput) on a bad name, operator or version, or unbalanced brackets.
// The obsolete operators '<' and '>' mean '<=' and '>='.
RelationList parse_relations(std::string_view text, std::string_view field = "Depends");
// The same parse (same syntax, same errors) as views into `text`.
RelationViewList parse_relation_views(std::string_view text, std::string_view field = "Depends");

std::string to_string(const Alternatives& group);

}  // namespace stage::resolver
