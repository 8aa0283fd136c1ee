// The sandbox of the verifier stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/stage_policy.hpp"

namespace stage::verifier {

sandbox::StagePolicy verifier_policy();

}  // namespace stage::verifier
