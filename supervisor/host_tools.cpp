#include "supervisor/host_tools.hpp"

#include <unistd.h>

#include <string>

#include "ipc/error.hpp"

namespace supervisor {

std::vector<HostTool> repository_tools() {
  std::vector<HostTool> tools = {{"gpg", "gnupg"}, {"gpgconf", "gnupg"}};
  if (::geteuid() != 0) {
    tools.push_back({"newuidmap", "uidmap"});
    tools.push_back({"newgidmap", "uidmap"});
  }
  return tools;
}

void require_host_tools(const std::vector<HostTool>& tools) {
  std::string missing;
  std::string packages;
  for (const auto& tool : tools) {
    const std::string name(tool.program);
    if (::access(("/usr/bin/" + name).c_str(), X_OK) == 0 || ::access(("/usr/sbin/" + name).c_str(), X_OK) == 0) {
      continue;
    }
    missing += (missing.empty() ? "" : ", ") + name;
    if (packages.find(tool.package) == std::string::npos) packages += " " + std::string(tool.package);
  }
  if (!missing.empty()) {
    throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to find the host programs a build needs: " + missing)
        .with_hint("install them: sudo apt-get install" + packages);
  }
}

}  // namespace supervisor
