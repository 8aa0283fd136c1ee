// The sandbox of the isomaker stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/stage_policy.hpp"

namespace stage::isomaker {

sandbox::StagePolicy isomaker_policy();

}  // namespace stage::isomaker
