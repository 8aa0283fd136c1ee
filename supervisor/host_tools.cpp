#include "supervisor/host_tools.hpp"

#include <unistd.h>

#include <string>

#include "ipc/error.hpp"
#include "stages/diskmaker/tools.hpp"

namespace supervisor {

std::vector<HostTool> repository_tools() {
  std::vector<HostTool> tools = {{"gpg", "gnupg"}, {"gpgconf", "gnupg"}};
  if (::geteuid() != 0) {
    tools.push_back({"newuidmap", "uidmap"});
    tools.push_back({"newgidmap", "uidmap"});
  }
  return tools;
}

std::vector<HostTool> image_tools(const config::ImageTemplate& image) {
  std::vector<HostTool> tools = {{"cp", "coreutils"}};
  const config::SystemConfig* system = image.system_config ? &*image.system_config : nullptr;
  if (system && system->kernel && system->kernel->uki.value_or(false)) tools.push_back({"objcopy", "binutils"});
  std::vector<std::string> fs_types;
  std::vector<std::pair<std::string, std::string>> artifacts;
  if (image.disk) {
    for (const auto& p : image.disk->partitions) fs_types.push_back(p.fs_type.value_or(""));
    for (const auto& a : image.disk->artifacts) artifacts.emplace_back(a.type, a.compression.value_or("none"));
  }
  for (auto& [program, package] : stage::diskmaker::diskmaker_tools(fs_types, artifacts)) {
    tools.push_back({std::move(program), std::move(package)});
  }
  return tools;
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
    if (packages.find(tool.package) == std::string::npos) packages += " " + tool.package;
  }
  if (!missing.empty()) {
    throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to find the host programs a build needs: " + missing)
        .with_hint("install them: sudo apt-get install" + packages);
  }
}

}  // namespace supervisor
