#include "config/defaults.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace config {
namespace fs = std::filesystem;

std::string default_kind(std::string_view image_type) {
  return image_type == "img" ? "initrd" : std::string(image_type);
}

fs::path default_template_path(const fs::path& config_dir, const Target& target) {
  base::require(target.os && target.dist && target.arch && target.image_type,
               "Failed to find the default template: target needs os, dist, arch and imageType");
  return config_dir / "osv" / *target.os / *target.dist / "imageconfigs" / "defaultconfigs" /
         ("default-" + default_kind(*target.image_type) + "-" + *target.arch + ".yml");
}

namespace {

// Adds the target named by "default-<kind>-<arch>.yml", if that is its shape.
void add_if_default_file(const fs::path& file, const std::string& os, const std::string& dist,
                         std::vector<SupportedTarget>& out) {
  const std::string name = file.filename().string();
  if (!name.starts_with("default-") || !name.ends_with(".yml")) return;
  const std::string middle = name.substr(8, name.size() - 8 - 4);
  const auto dash = middle.find('-');
  if (dash == std::string::npos) return;
  const std::string kind = middle.substr(0, dash);
  const std::string arch = middle.substr(dash + 1);
  if (arch.empty()) return;
  if (kind == "raw" || kind == "iso") out.push_back({os, dist, arch, kind});
  if (kind == "initrd") out.push_back({os, dist, arch, "img"});
}

}  // namespace

std::vector<SupportedTarget> find_supported_targets(const fs::path& config_dir) {
  std::vector<SupportedTarget> out;
  std::error_code ec;
  for (const auto& os : fs::directory_iterator(config_dir / "osv", ec)) {
    if (!os.is_directory()) continue;
    std::error_code ec_dist;
    for (const auto& dist : fs::directory_iterator(os.path(), ec_dist)) {
      std::error_code ec_files;
      const fs::path defaults = dist.path() / "imageconfigs" / "defaultconfigs";
      for (const auto& file : fs::directory_iterator(defaults, ec_files)) {
        if (file.is_regular_file())
          add_if_default_file(file.path(), os.path().filename().string(),
                              dist.path().filename().string(), out);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string describe_targets(const std::vector<SupportedTarget>& targets) {
  if (targets.empty()) return "none";
  std::string out;
  for (const SupportedTarget& t : targets) {
    if (!out.empty()) out += ", ";
    out += t.os + "/" + t.dist + "/" + t.arch + "/" + t.image_type;
  }
  return out;
}

}  // namespace config
