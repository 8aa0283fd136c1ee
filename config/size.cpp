#include "config/size.hpp"

#include <array>
#include <cctype>
#include <limits>

#include "base/error.hpp"

namespace config {
namespace {

struct Unit {
  std::string_view suffix;
  std::uint64_t multiplier;
};

constexpr std::uint64_t kKi = 1024;
constexpr std::uint64_t kK = 1000;

// Matched exactly and case-sensitively after one optional space; "k" and "kB"
// are accepted because they are common spellings of K and KB.
constexpr std::array<Unit, 17> kUnits{{
    {"B", 1},
    {"K", kKi}, {"M", kKi * kKi}, {"G", kKi * kKi * kKi}, {"T", kKi * kKi * kKi * kKi},
    {"KiB", kKi}, {"MiB", kKi * kKi}, {"GiB", kKi * kKi * kKi}, {"TiB", kKi * kKi * kKi * kKi},
    {"KB", kK}, {"MB", kK * kK}, {"GB", kK * kK * kK}, {"TB", kK * kK * kK * kK},
    {"k", kKi}, {"kB", kK}, {"kiB", kKi}, {"Ki", kKi},
}};

constexpr std::string_view kExpected =
    "expected a non-negative number with an optional unit "
    "(B, K, M, G, T, KiB, MiB, GiB, TiB, KB, MB, GB, TB; a bare number is MiB)";

SizeResult error(std::string_view text, std::string_view why) {
  SizeResult r;
  r.error = "invalid size \"" + std::string(text) + "\": " + std::string(why) + "; " +
            std::string(kExpected);
  return r;
}

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return __builtin_mul_overflow(a, b, &out);
}

}  // namespace

SizeResult try_parse_size(std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return error(text, "empty");
  if (s.front() == '-') return error(text, "negative");
  if (s.front() == '+') s.remove_prefix(1);

  std::size_t i = 0;
  std::uint64_t whole = 0;
  std::size_t whole_digits = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++whole_digits) {
    std::uint64_t next = 0;
    if (mul_overflows(whole, 10, next) || __builtin_add_overflow(next, s[i] - '0', &whole))
      return error(text, "too large");
  }
  // Fraction digits are kept exactly: value = whole + frac / 10^frac_digits.
  std::uint64_t frac = 0;
  std::uint64_t frac_scale = 1;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t frac_digits = 0;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++frac_digits) {
      if (frac_digits >= 18) return error(text, "too many decimal places");
      frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
      frac_scale *= 10;
    }
    if (frac_digits == 0) return error(text, "a decimal point must be followed by digits");
  }
  if (whole_digits == 0 && frac_scale == 1) return error(text, "no number");

  std::string_view suffix = s.substr(i);
  if (!suffix.empty() && suffix.front() == ' ') suffix.remove_prefix(1);
  std::uint64_t multiplier = kKi * kKi;  // bare number: MiB
  if (!suffix.empty()) {
    bool found = false;
    for (const Unit& u : kUnits) {
      if (u.suffix == suffix) {
        multiplier = u.multiplier;
        found = true;
        break;
      }
    }
    if (!found) return error(text, "unknown unit \"" + std::string(suffix) + "\"");
  }

  std::uint64_t bytes = 0;
  if (mul_overflows(whole, multiplier, bytes)) return error(text, "too large");
  if (frac != 0) {
    std::uint64_t scaled = 0;
    if (mul_overflows(frac, multiplier, scaled)) return error(text, "too large");
    if (scaled % frac_scale != 0) return error(text, "not a whole number of bytes");
    if (__builtin_add_overflow(bytes, scaled / frac_scale, &bytes)) return error(text, "too large");
  }
  SizeResult r;
  r.bytes = bytes;
  return r;
}

std::uint64_t parse_size(std::string_view text) {
  SizeResult r = try_parse_size(text);
  if (!r.bytes) throw base::Error(base::ErrorKind::kInvalidInput, r.error);
  return *r.bytes;
}

}  // namespace config
