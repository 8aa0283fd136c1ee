// The sandbox of the diskmaker stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/stage_policy.hpp"

namespace stage::diskmaker {

sandbox::StagePolicy diskmaker_policy();

}  // namespace stage::diskmaker
