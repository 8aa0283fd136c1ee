// A template's version pin, "OP VERSION" ("= 1.2-3", ">= 1:2.0"), split the
// same way for every family; each family has its own operators and checks
// the version with its own syntax.
#pragma once

#include <span>
#include <string_view>
#include <utility>

#include "stages/resolver/deb/relations.hpp"

namespace stage::resolver {

using ConstraintOperator = std::pair<std::string_view, RelOp>;

// The first of `ops` the trimmed text starts with (list longer tokens
// first) and the trimmed rest; without an operator, = and the whole text;
// an empty text is {kAny, ""}.
inline std::pair<RelOp, std::string_view> split_constraint(std::string_view text,
                                                           std::span<const ConstraintOperator> ops) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  if (text.empty()) return {RelOp::kAny, {}};
  for (const auto& [token, op] : ops) {
    if (text.starts_with(token)) return {op, trim(text.substr(token.size()))};
  }
  return {RelOp::kEqual, text};
}

}  // namespace stage::resolver
