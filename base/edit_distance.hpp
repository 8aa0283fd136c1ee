// Typo suggestions: "unknown key 'wrokers' (did you mean 'workers'?)".
// base/ holds what every part of the project may include; it includes
// nothing of the project itself.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace base {

// Levenshtein distance: insertions, deletions and substitutions of one byte.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo
// (at most max(2, |word|/3) edits), else "".
std::string nearest_word(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace base
