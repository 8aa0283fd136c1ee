#include "sandbox/stage_policy.hpp"

#include <sys/resource.h>

namespace sandbox {

std::vector<Rlimit> StagePolicy::default_rlimits() {
  return {
      {RLIMIT_NOFILE, 4096, 4096},
      {RLIMIT_NPROC, 4096, 4096},  // counted per user namespace since Linux 5.14
      {RLIMIT_CORE, 0, 0},
  };
}

std::vector<MountOp> base_mounts() {
  return {
      {MountKind::kBindRo, "/usr", "/usr", {}},
      {MountKind::kSymlink, "usr/bin", "/bin", {}},
      {MountKind::kSymlink, "usr/sbin", "/sbin", {}},
      {MountKind::kSymlink, "usr/lib", "/lib", {}},
      {MountKind::kSymlink, "usr/lib64", "/lib64", {}},
      {MountKind::kBindRo, "/etc/ld.so.cache", "/etc/ld.so.cache", {}, true},
      {MountKind::kProc, {}, "/proc", {}},
      {MountKind::kDev, {}, "/dev", {}},
      {MountKind::kTmpfs, {}, "/tmp", "mode=1777"},
  };
}

SandboxSpec make_spec(const StagePolicy& policy, std::string executable,
                      std::vector<std::string> argv) {
  SandboxSpec spec;
  spec.executable = std::move(executable);
  spec.argv = std::move(argv);
  spec.env = {"PATH=/usr/sbin:/usr/bin", "LC_ALL=C.UTF-8"};
  spec.hostname = policy.name;
  spec.network = policy.network;
  spec.mounts = base_mounts();
  spec.mounts.insert(spec.mounts.end(), policy.mounts.begin(), policy.mounts.end());
  spec.capabilities = policy.capabilities;
  spec.seccomp = policy.seccomp;
  spec.rlimits = policy.rlimits;
  return spec;
}

}  // namespace sandbox
