// Host programs the stages run, checked before a build starts so that a
// missing one is one clear error naming the Debian package to install,
// not a stage failing half-way.
#pragma once

#include <string>
#include <vector>

#include "config/template.hpp"

namespace supervisor {

struct HostTool {
  std::string program;  // searched in /usr/bin and /usr/sbin (what stages see)
  std::string package;  // the Debian package that provides it
};

// The tools the Debian repository steps need (the verifier runs gpg).
std::vector<HostTool> repository_tools();

// The tools making the image of `image` needs: the installer's copy of a
// cached build environment (cp) and UKI assembly (objcopy), and the disk
// maker's tools for the template's file systems and artifacts.
std::vector<HostTool> image_tools(const config::ImageTemplate& image);

// Throws ipc::Error (kFailed) listing every missing tool and its package.
void require_host_tools(const std::vector<HostTool>& tools);

}  // namespace supervisor
