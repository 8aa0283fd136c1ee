// The sandbox of the inspector stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace stage::inspector {

sandbox::StagePolicy inspector_policy();

// sfdisk (fdisk), blkid (util-linux), debugfs (e2fsprogs), mdir and mtype (mtools).
std::vector<sandbox::HostProgram> inspector_host_programs(const sandbox::ImageFeatures& features);

}  // namespace stage::inspector
