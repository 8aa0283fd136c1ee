// The sandbox of the fetcher stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/stage_policy.hpp"

namespace stage::fetcher {

sandbox::StagePolicy fetcher_policy();

}  // namespace stage::fetcher
