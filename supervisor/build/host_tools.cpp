#include "supervisor/build/host_tools.hpp"

#include <unistd.h>

#include <initializer_list>
#include <string>

#include "base/error.hpp"
#include "supervisor/build/secure_boot.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

using ipc::proto::StageKind;

std::vector<HostTool> programs_of(std::initializer_list<StageKind> kinds, const sandbox::ImageFeatures& features) {
  std::vector<HostTool> tools;
  for (StageKind kind : kinds) {
    for (HostTool& tool : stage_info(kind).host_programs(features)) tools.push_back(std::move(tool));
  }
  return tools;
}

sandbox::ImageFeatures image_features(const config::ImageTemplate& image, std::string_view package_family) {
  sandbox::ImageFeatures features;
  features.package_family = package_family;
  const config::SystemConfig* system = image.system_config ? &*image.system_config : nullptr;
  features.uki = system && system->kernel && system->kernel->uki.value_or(false);
  features.verity = system && system->immutability && system->immutability->enabled;
  features.secure_boot = secure_boot_keys(image).has_value();
  if (image.disk) {
    for (const auto& p : image.disk->partitions) features.fs_types.push_back(p.fs_type.value_or(""));
    for (const auto& a : image.disk->artifacts) features.artifacts.emplace_back(a.type, a.compression.value_or("none"));
  }
  return features;
}

}  // namespace

std::vector<HostTool> repository_tools() {
  std::vector<HostTool> tools = programs_of({StageKind::FETCHER, StageKind::VERIFIER, StageKind::RESOLVER}, {});
  if (::geteuid() != 0) {
    tools.push_back({"newuidmap", "uidmap"});
    tools.push_back({"newgidmap", "uidmap"});
  }
  return tools;
}

std::vector<HostTool> image_tools(const config::ImageTemplate& image, std::string_view package_family) {
  // An initrd is the installed tree, packed by the isomaker with libarchive: no host program.
  if (image.target && image.target->image_type.value_or("raw") == "img") {
    return programs_of({StageKind::INSTALLER}, image_features(image, package_family));
  }
  const sandbox::ImageFeatures features = image_features(image, package_family);
  if (features.secure_boot) return programs_of({StageKind::INSTALLER, StageKind::DISKMAKER, StageKind::SIGNER}, features);
  return programs_of({StageKind::INSTALLER, StageKind::DISKMAKER}, features);
}

void require_host_tools(const std::vector<HostTool>& tools) {
  std::string missing;
  std::string packages;
  for (const auto& tool : tools) {
    const std::string& name = tool.program;
    if (::access(("/usr/bin/" + name).c_str(), X_OK) == 0 || ::access(("/usr/sbin/" + name).c_str(), X_OK) == 0) {
      continue;
    }
    missing += (missing.empty() ? "" : ", ") + name;
    if (packages.find(tool.package) == std::string::npos) packages += (packages.empty() ? "" : ", ") + tool.package;
  }
  if (!missing.empty()) {
    throw base::Error(base::ErrorKind::kFailed, "Failed to find the host programs a build needs: " + missing)
        .with_hint("install " + missing + " (Debian packages: " + packages + ")");
  }
}

}  // namespace supervisor
