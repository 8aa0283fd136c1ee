// Host programs a build runs, checked before it starts so that a missing one
// is one clear error naming it, not a stage failing half-way. Each stage
// declares its own beside its policy; this file asks the stage table.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/template.hpp"
#include "sandbox/host_program.hpp"

namespace supervisor {

using HostTool = sandbox::HostProgram;

// What the repository steps run (fetcher, verifier, resolver: gpg for the
// verifier), and, for an unprivileged caller, the id-mapping helpers the
// sandbox itself runs.
std::vector<HostTool> repository_tools();

// What making the image of `image` runs (installer, diskmaker): the programs
// its packages (of `package_family`, the provider's pkgType: rpm's installer
// runs the host's rpm), file systems, disk files and boot files need. An
// initrd image (imageType img) needs the installer's alone.
std::vector<HostTool> image_tools(const config::ImageTemplate& image, std::string_view package_family);

// Throws base::Error (kFailed) listing every missing program and its package.
void require_host_tools(const std::vector<HostTool>& tools);

}  // namespace supervisor
