// The sandbox of the inspector stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace stage::inspector {

// The launch policy: what both of the stage's jobs may do (see policy.cpp).
sandbox::StagePolicy inspector_policy();

// Called by the stage before it inspects (not when it converts a qcow2
// image): from then on, for it and every program it runs, no open for
// writing at all and RLIMIT_FSIZE 0.
void restrict_to_reading();

// sfdisk (fdisk), blkid (util-linux), debugfs (e2fsprogs), mdir and mtype (mtools).
std::vector<sandbox::HostProgram> inspector_host_programs(const sandbox::ImageFeatures& features);

}  // namespace stage::inspector
