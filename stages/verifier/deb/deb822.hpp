// Debian control-file (deb822) paragraphs, as used by Release and Packages,
// and the RFC 2822 dates found in Release files.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stage::verifier {

struct Deb822Field {
  std::string name;
  // Continuation lines are joined with '\n' and lose their leading space; a
  // lone "." continuation line becomes an empty line.
  std::string value;
};

struct Deb822Paragraph {
  std::vector<Deb822Field> fields;  // in file order

  // Field names compare case-insensitively, as in dpkg.
  std::optional<std::string_view> get(std::string_view name) const;
};

// Throws kInvalidInput naming `origin` and the line on malformed input.
std::vector<Deb822Paragraph> parse_deb822(std::string_view text, std::string_view origin);

// Splits on spaces, tabs and newlines; empty parts are dropped.
std::vector<std::string> split_words(std::string_view text);

// "Thu, 26 Nov 2026 06:47:50 +0000" (also UTC/GMT/Z and other offsets; the
// weekday is optional). Returns nullopt when the text is not such a date.
std::optional<std::chrono::sys_seconds> parse_rfc2822_date(std::string_view text);

}  // namespace stage::verifier
