// The sandbox of the verifier stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace stage::verifier {

sandbox::StagePolicy verifier_policy();

// gpg and gpgconf, which gpgme runs.
std::vector<sandbox::HostProgram> verifier_host_programs(const sandbox::ImageFeatures& features);

}  // namespace stage::verifier
