#include "sandbox/baseline_policy.hpp"

#include <cerrno>

#include "sandbox/syscall_sets.hpp"

namespace sandbox {

std::vector<SyscallSet> always_forbidden() {
  return {syscalls::fs_admin(), syscalls::kernel_admin(), syscalls::cross_process(),
          syscalls::kernel_keyring()};
}

SeccompPolicy baseline_policy() {
  SeccompPolicy policy(kTrapped);
  for (const SyscallSet& set : always_forbidden()) policy.forbid(set);

  for (const SyscallSet& set :
       {syscalls::process_exit(), syscalls::memory(), syscalls::fd_io(), syscalls::socket_io(),
        syscalls::filesystem_read(), syscalls::time(), syscalls::signals(), syscalls::threads(),
        syscalls::process_info(), syscalls::randomness(), syscalls::capability_changes()}) {
    policy.allow(set);
  }
  // The launcher's own execve runs under the filter (seccomp is loaded last);
  // a stage that runs no programs stacks a filter without it (forbid_exec()).
  policy.set(SCMP_SYS(execve), kAllowed);
  syscalls::allow_clone_threads(policy);
  syscalls::allow_unshare_without_namespaces(policy);
  syscalls::allow_safe_prctl(policy);
  syscalls::allow_own_prlimit(policy);
  syscalls::allow_terminal_ioctl(policy);

  // clone3 passes its flags in memory the filter cannot inspect; ENOSYS makes
  // glibc fall back to clone, whose flags are checked.
  policy.set(SCMP_SYS(clone3), fail_with(ENOSYS));
  // Optional kernel features libraries probe for and do without.
  for (int nr : {SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
                 SCMP_SYS(pkey_alloc), SCMP_SYS(pkey_free), SCMP_SYS(pkey_mprotect)}) {
    policy.set(nr, fail_with(ENOSYS));
  }
  return policy;
}

SeccompPolicy program_runner_policy() {
  SeccompPolicy policy = baseline_policy();
  policy.allow(syscalls::process_spawn());
  syscalls::allow_clone_processes(policy);
  policy.allow(syscalls::filesystem_write());
  return policy;
}

}  // namespace sandbox
