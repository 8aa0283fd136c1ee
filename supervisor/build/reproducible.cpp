#include "supervisor/build/reproducible.hpp"

#include <algorithm>
#include <charconv>
#include <span>

#include "base/error.hpp"
#include "config/emit.hpp"
#include "supervisor/cache/digest.hpp"

namespace supervisor {
namespace {

// 2020-01-01T00:00:00Z and one year: the range of the time derived from a
// lockfile that records no repository date (written before the field).
constexpr std::int64_t kDerivedTimeBase = 1577836800;
constexpr std::int64_t kDerivedTimeSpan = 365 * 24 * 3600;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  throw base::Error(base::ErrorKind::kFailed, std::string("not a lower-case hex digit: '") + c + "'");
}

}  // namespace

std::string build_seed(const config::ImageTemplate& image, const Lockfile& lock) {
  return sha256_hex("os-image-composer build seed 1\n" + lockfile_to_json(lock) + "\n" + config::emit_template(image));
}

std::vector<unsigned char> derived_bytes(std::string_view seed, std::string_view label, std::size_t count) {
  base::check(count <= 32, "derived_bytes: at most 32 bytes, not " + std::to_string(count));
  base::check(!label.empty(), "derived_bytes: an empty label");
  const std::string digest = sha256_hex(std::string(seed) + "\n" + std::string(label));
  std::vector<unsigned char> bytes(count);
  for (std::size_t i = 0; i < count; ++i) {
    bytes[i] = static_cast<unsigned char>(hex_value(digest[2 * i]) * 16 + hex_value(digest[2 * i + 1]));
  }
  return bytes;
}

std::string derived_uuid(std::string_view seed, std::string_view label) {
  const std::vector<unsigned char> bytes = derived_bytes(seed, label, 16);
  return uuid_v4_text(std::span<const unsigned char, 16>(bytes.data(), 16));
}

UuidSource derived_uuids(std::string seed) {
  return [seed = std::move(seed)](std::string_view label) { return derived_uuid(seed, label); };
}

std::int64_t lockfile_time(const Lockfile& lock) {
  std::int64_t newest = -1;
  for (const LockedRepository& repo : lock.repositories) newest = std::max(newest, repo.date);
  return newest;
}

std::int64_t given_build_time(const Lockfile& lock, const char* source_date_epoch) {
  if (source_date_epoch == nullptr || *source_date_epoch == '\0') return lockfile_time(lock);
  const std::string_view text(source_date_epoch);
  std::int64_t value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  base::require(ec == std::errc() && end == text.data() + text.size() && value >= 0,
               "Invalid SOURCE_DATE_EPOCH '" + std::string(text) + "': it must be a number of seconds since 1970");
  return value;
}

std::int64_t build_time(const Lockfile& lock, const char* source_date_epoch) {
  const std::int64_t given = given_build_time(lock, source_date_epoch);
  if (given >= 0) return given;
  const std::string digest = sha256_hex(lockfile_to_json(lock));
  const std::int64_t offset = static_cast<std::int64_t>(std::stoull(digest.substr(0, 12), nullptr, 16));
  return kDerivedTimeBase + offset % kDerivedTimeSpan;
}

}  // namespace supervisor
