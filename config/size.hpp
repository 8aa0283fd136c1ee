// Disk and partition sizes as written in templates: "4GiB", "8GB", "512K", "0".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace config {

// Bytes for a size string. A bare number is MiB; K/M/G/T and KiB..TiB are
// powers of 1024, KB..TB powers of 1000. "0" means "the rest of the disk".
// Throws base::Error(kInvalidInput) saying what was expected.
std::uint64_t parse_size(std::string_view text);

// Same rules, but returns the reason instead of throwing (for collecting errors).
struct SizeResult {
  std::optional<std::uint64_t> bytes;
  std::string error;
};
SizeResult try_parse_size(std::string_view text);

}  // namespace config
