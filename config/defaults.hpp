// Where the OS default template for a target lives, and which targets have one:
// <config_dir>/osv/<os>/<dist>/imageconfigs/defaultconfigs/default-{raw|iso|initrd}-<arch>.yml
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/template.hpp"

namespace config {

// "raw" → "raw", "iso" → "iso", "img" → "initrd" (the default file's kind).
std::string default_kind(std::string_view image_type);

// Throws kInvalidInput when the target lacks os, dist, arch or imageType.
std::filesystem::path default_template_path(const std::filesystem::path& config_dir, const Target& target);

struct SupportedTarget {
  std::string os;
  std::string dist;
  std::string arch;
  std::string image_type;  // as written in templates: raw | iso | img
  auto operator<=>(const SupportedTarget&) const = default;
};

// Every target that has a default template under `config_dir`, sorted.
std::vector<SupportedTarget> find_supported_targets(const std::filesystem::path& config_dir);

// "debian/debian12/x86_64/raw, ..." or "none" for an empty list.
std::string describe_targets(const std::vector<SupportedTarget>& targets);

}  // namespace config
