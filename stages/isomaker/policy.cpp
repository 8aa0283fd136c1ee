// The isomaker reads a root tree and writes one initrd (with libarchive, in
// process) or one ISO (with xorriso, mtools, apt-ftparchive or createrepo_c,
// and the tree's own grub-mkimage run through the tree's dynamic loader). It
// execs those programs and writes into its output directory. No network. It
// must read every file of the tree, whatever its owner and mode.
#include "stages/isomaker/policy.hpp"

#include <sys/resource.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::isomaker {

sandbox::StagePolicy isomaker_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = sandbox::program_runner_policy();  // xorriso, mtools, grub-mkimage
  seccomp.allow(sc::ownership());  // mtools and xorriso set owners of their own output
  sc::allow_any_ioctl(seccomp);    // xorriso and mtools ask drive ioctls of plain files (ENOTTY)
  // mtools drops set-id privileges on start (setgid/setresuid to its own ids);
  // without CAP_SETUID/CAP_SETGID no other id is reachable.
  seccomp.allow(sc::set_ids());
  // createrepo_c's GLib thread pool reads the creating thread's scheduling
  // attributes and gives each new thread the same (sched_getattr and
  // sched_setattr on its own tid); without CAP_SYS_NICE nothing can be raised.
  seccomp.allow(sandbox::SyscallSet{"thread scheduling attributes", {SCMP_SYS(sched_getattr), SCMP_SYS(sched_setattr)}});

  sandbox::StagePolicy policy{"isomaker", std::move(seccomp)};
  // Reading every file of the tree (owned by the subordinate range, some
  // unreadable to their group and others) for the initrd.
  policy.capabilities = {CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE};
  // The ISO carries the target's compressed disk image: at most the largest
  // disk a template may ask for (config/partition_checks.cpp) and the rest.
  policy.rlimits.push_back({RLIMIT_FSIZE, (4ULL << 40) + (16ULL << 30), (4ULL << 40) + (16ULL << 30)});
  return policy;
}

}  // namespace stage::isomaker
