// What a stage declares about itself (stages/<name>/policy.cpp): its syscall
// policy, the capabilities it keeps, network on/off, the host paths its tools
// need and its resource limits. The supervisor turns it into a SandboxSpec
// and adds the per-run parts (the stage binary, inputs, output, socket).
#pragma once

#include <string>
#include <vector>

#include "sandbox/seccomp.hpp"
#include "sandbox/spec.hpp"

namespace sandbox {

struct StagePolicy {
  std::string name;
  SeccompPolicy seccomp;
  std::vector<int> capabilities;  // explicit keep-list; empty keeps none
  bool network = false;
  std::vector<MountOp> mounts;    // host paths beyond base_mounts(), read-only as a rule
  std::vector<Rlimit> rlimits = default_rlimits();

  static std::vector<Rlimit> default_rlimits();
};

// What every stage sees: /usr read-only with the merged-/usr symlinks,
// /etc/ld.so.cache, a fresh /proc, a minimal /dev and an empty /tmp.
std::vector<MountOp> base_mounts();

// A SandboxSpec running `executable` (a path inside the sandbox) under
// `policy`; callers append their own mounts and fds.
SandboxSpec make_spec(const StagePolicy& policy, std::string executable,
                      std::vector<std::string> argv);

}  // namespace sandbox
