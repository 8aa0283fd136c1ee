// What every stage gets: deny by default (unknown syscalls trap and are
// reported), the always-forbidden syscalls locked, libc fallbacks answered
// with an errno, and the small core every process needs to start and exit;
// and the common start of the stages that run programs.
#pragma once

#include "sandbox/seccomp.hpp"

namespace sandbox {

// ptrace, mount API, modules, kexec, bpf, keyrings, setns, reboot, ...:
// forbidden for every stage, including the installer. A policy that tries to
// allow one of them throws.
std::vector<SyscallSet> always_forbidden();

SeccompPolicy baseline_policy();

// The baseline and what a stage that runs host programs on files needs:
// fork/exec/wait, clone for child processes (never with namespace flags) and
// file writes. The installer and the diskmaker start from it.
SeccompPolicy program_runner_policy();

}  // namespace sandbox
