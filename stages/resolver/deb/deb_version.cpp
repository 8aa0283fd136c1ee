#include "stages/resolver/deb/deb_version.hpp"

#include <cctype>
#include <charconv>
#include <optional>

#include "base/error.hpp"

namespace stage::resolver {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) noexcept { return is_digit(c) || is_alpha(c); }

// dpkg's order(): '~' < end of string < letters < everything else.
int order(char c) noexcept {
  if (is_digit(c)) return 0;
  if (is_alpha(c)) return c;
  if (c == '~') return -1;
  if (c != '\0') return static_cast<unsigned char>(c) + 256;
  return 0;
}

struct Parts {
  std::string_view epoch;
  std::string_view upstream;
  std::string_view revision;
};

Parts split(std::string_view v) noexcept {
  Parts p;
  if (auto colon = v.find(':'); colon != std::string_view::npos) {
    p.epoch = v.substr(0, colon);
    v.remove_prefix(colon + 1);
  }
  if (auto dash = v.rfind('-'); dash != std::string_view::npos) {
    p.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  p.upstream = v;
  return p;
}

std::optional<std::uint32_t> parse_epoch(std::string_view s) noexcept {
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (value > 0x7fffffffu) return std::nullopt;  // dpkg: epoch <= INT_MAX
  return value;
}

// Why `text` is not a valid version, or nullopt when it is.
std::optional<std::string> invalid_reason(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return "version string is empty";
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) return "version string has embedded spaces";
  }
  const Parts p = split(text);
  if (text.find(':') != std::string_view::npos) {
    if (p.epoch.empty()) return "epoch in version is empty";
    for (char c : p.epoch) {
      if (!is_digit(c)) return "epoch in version is not number";
    }
    if (!parse_epoch(p.epoch)) return "epoch in version is too big";
    if (text.back() == ':') return "nothing after colon in version number";
  }
  if (p.upstream.empty()) return "version number is empty";
  if (text.find('-') != std::string_view::npos && p.revision.empty()) return "revision number is empty";
  if (!is_digit(p.upstream.front())) return "version number does not start with digit";
  for (char c : p.upstream) {
    if (!is_alnum(c) && c != '.' && c != '-' && c != '+' && c != '~' && c != ':') {
      return "invalid character in version number";
    }
  }
  for (char c : p.revision) {
    if (!is_alnum(c) && c != '.' && c != '+' && c != '~') return "invalid character in revision number";
  }
  return std::nullopt;
}

}  // namespace

int compare_version_part(std::string_view a, std::string_view b) noexcept {
  std::size_t i = 0;
  std::size_t j = 0;
  auto at = [](std::string_view s, std::size_t k) { return k < s.size() ? s[k] : '\0'; };
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      const int ac = order(at(a, i));
      const int bc = order(at(b, j));
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (at(a, i) == '0') ++i;
    while (at(b, j) == '0') ++j;
    while (is_digit(at(a, i)) && is_digit(at(b, j))) {
      if (first_diff == 0) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (is_digit(at(a, i))) return 1;
    if (is_digit(at(b, j))) return -1;
    if (first_diff != 0) return first_diff;
  }
  return 0;
}

int compare_versions(const DebVersion& a, const DebVersion& b) noexcept {
  if (a.epoch != b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (int r = compare_version_part(a.upstream, b.upstream); r != 0) return r;
  return compare_version_part(a.revision, b.revision);
}

int compare_versions(std::string_view a, std::string_view b) noexcept {
  if (a == b) return 0;
  const Parts pa = split(a);
  const Parts pb = split(b);
  const std::uint32_t ea = pa.epoch.empty() ? 0 : parse_epoch(pa.epoch).value_or(0);
  const std::uint32_t eb = pb.epoch.empty() ? 0 : parse_epoch(pb.epoch).value_or(0);
  if (ea != eb) return ea < eb ? -1 : 1;
  if (int r = compare_version_part(pa.upstream, pb.upstream); r != 0) return r;
  return compare_version_part(pa.revision, pb.revision);
}

bool is_valid_version(std::string_view text) noexcept {
  try {
    return !invalid_reason(text).has_value();
  } catch (...) {  // only std::bad_alloc can get here
    return false;
  }
}

DebVersion DebVersion::parse(std::string_view text) {
  if (auto reason = invalid_reason(text)) {
    base::fail(base::ErrorKind::kInvalidInput,
              "Failed to parse version '" + std::string(text) + "': " + *reason);
  }
  while (std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  const Parts p = split(text);
  DebVersion v;
  v.epoch = p.epoch.empty() ? 0 : *parse_epoch(p.epoch);
  v.upstream = std::string(p.upstream);
  v.revision = std::string(p.revision);
  return v;
}

std::string DebVersion::to_string() const {
  std::string out;
  if (epoch != 0) out = std::to_string(epoch) + ":";
  out += upstream;
  if (!revision.empty()) out += "-" + revision;
  return out;
}

}  // namespace stage::resolver
