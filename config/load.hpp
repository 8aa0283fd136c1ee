// The one call most code needs: read a user template, check it, and (for a
// build) merge it over its OS default.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/template.hpp"

namespace config {

struct LoadOptions {
  // The directory holding osv/<os>/<dist>/... (defaults and provider data).
  std::filesystem::path config_dir;
};

struct LoadedTemplate {
  ImageTemplate tmpl;
  std::vector<std::string> warnings;
  std::filesystem::path default_path;  // empty for load_user_template
};

// Parses and validates the user template alone. Its relative additional
// files are looked for beside it, then beside its OS default (as after
// merging); `warnings` names each that `build` would refuse.
LoadedTemplate load_user_template(const std::filesystem::path& path, const LoadOptions& options);

// Parses and validates the user template, its OS default, and their merge.
LoadedTemplate load_merged_template(const std::filesystem::path& path, const LoadOptions& options);

}  // namespace config
