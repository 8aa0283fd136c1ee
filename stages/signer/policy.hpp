// The sandbox of the signer stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/stage_policy.hpp"

namespace stage::signer {

sandbox::StagePolicy signer_policy();

}  // namespace stage::signer
