// The sandbox of the diskmaker stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace stage::diskmaker {

sandbox::StagePolicy diskmaker_policy();

// sfdisk, and the tools of the image's file systems and disk file formats
// (host_programs.cpp).
std::vector<sandbox::HostProgram> diskmaker_host_programs(const sandbox::ImageFeatures& features);

}  // namespace stage::diskmaker
