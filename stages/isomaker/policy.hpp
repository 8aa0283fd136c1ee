// The sandbox of the isomaker stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace stage::isomaker {

sandbox::StagePolicy isomaker_policy();

// xorriso, mtools and the package repository's indexer (host_programs.cpp).
std::vector<sandbox::HostProgram> isomaker_host_programs(const sandbox::ImageFeatures& features);

}  // namespace stage::isomaker
