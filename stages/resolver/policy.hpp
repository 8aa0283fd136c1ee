// The sandbox of the resolver stage: see policy.cpp for what it may do and why.
#pragma once

#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace stage::resolver {

sandbox::StagePolicy resolver_policy();

// None: the resolver execs nothing.
std::vector<sandbox::HostProgram> resolver_host_programs(const sandbox::ImageFeatures& features);

// What the stage does first, inside its sandbox: the SIGSYS reporter on
// `report_fd`, then no more execve (it runs no programs).
void confine_running_stage(int report_fd);

}  // namespace stage::resolver
