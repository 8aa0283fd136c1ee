// Debian package versions ([epoch:]upstream[-revision]) ordered exactly as
// dpkg orders them (lib/dpkg/version.c).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace stage::resolver {

struct DebVersion {
  std::uint32_t epoch = 0;
  std::string upstream;
  std::string revision;  // "" when the version has no '-'

  // Strict parse following dpkg's rules; throws base::Error (kInvalidInput)
  // naming the version and the reason.
  static DebVersion parse(std::string_view text);

  std::string to_string() const;
};

// dpkg's verrevcmp() on one upstream or revision part: '~' sorts before
// everything (even the end of the string), letters before non-letters,
// digit runs compare numerically. Returns <0, 0 or >0.
int compare_version_part(std::string_view a, std::string_view b) noexcept;

int compare_versions(const DebVersion& a, const DebVersion& b) noexcept;

// Compares two version strings without validating them (splits at the first
// ':' and the last '-' like dpkg). Used on the hot path of the resolver where
// the index was validated on load.
int compare_versions(std::string_view a, std::string_view b) noexcept;

// True when `text` is a valid version (DebVersion::parse would not throw).
bool is_valid_version(std::string_view text) noexcept;

}  // namespace stage::resolver
