// The sandbox of the resolver stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/stage_policy.hpp"

namespace stage::resolver {

sandbox::StagePolicy resolver_policy();

}  // namespace stage::resolver
