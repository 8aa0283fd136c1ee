// Host programs the stages run, checked before a build starts so that a
// missing one is one clear error naming the Debian package to install,
// not a stage failing half-way.
#pragma once

#include <string_view>
#include <vector>

namespace supervisor {

struct HostTool {
  std::string_view program;  // searched in /usr/bin and /usr/sbin (what stages see)
  std::string_view package;  // the Debian package that provides it
};

// The tools the Debian repository steps need (the verifier runs gpg).
std::vector<HostTool> repository_tools();

// Throws ipc::Error (kFailed) listing every missing tool and its package.
void require_host_tools(const std::vector<HostTool>& tools);

}  // namespace supervisor
