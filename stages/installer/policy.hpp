// The sandbox of the installer stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace stage::installer {

sandbox::StagePolicy installer_policy();

// cp (the copy of a cached build environment) and, for a UKI, objcopy; the
// programs of the image (dpkg, maintainer scripts) run from its own tree.
std::vector<sandbox::HostProgram> installer_host_programs(const sandbox::ImageFeatures& features);

}  // namespace stage::installer
