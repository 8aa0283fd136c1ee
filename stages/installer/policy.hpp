// The sandbox of the installer stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/stage_policy.hpp"

namespace stage::installer {

sandbox::StagePolicy installer_policy();

}  // namespace stage::installer
