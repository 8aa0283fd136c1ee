// The sandbox of the signer stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace stage::signer {

sandbox::StagePolicy signer_policy();

// gpg, gpg-agent (a secret key lives in the agent) and gpgconf, which gpgme
// runs; with Secure Boot also sbsign and sbverify (sbsigntool).
std::vector<sandbox::HostProgram> signer_host_programs(const sandbox::ImageFeatures& features);

}  // namespace stage::signer
