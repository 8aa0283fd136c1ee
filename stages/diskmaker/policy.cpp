// The diskmaker turns the image tree into a partitioned disk file with
// sfdisk, mkfs.* -d, mtools and qemu-img: it execs those tools and writes
// one output file. No network. mkfs must read every file of the tree,
// whatever its owner and mode, and record owners and xattrs as they are.
#include "stages/diskmaker/policy.hpp"

#include <sys/resource.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::diskmaker {

sandbox::StagePolicy diskmaker_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = sandbox::program_runner_policy();  // sfdisk, mkfs, qemu-img
  seccomp.allow(sc::ownership());  // mkfs.vfat/mtools set owners of their own output
  sc::allow_any_ioctl(seccomp);    // mkfs asks block-device ioctls of a plain file (ENOTTY)
  // mtools drops set-id privileges on start (setgid/setresuid to its own ids);
  // without CAP_SETUID/CAP_SETGID no other id is reachable.
  seccomp.allow(sc::set_ids());
  // qemu-img reads and sets the NUMA policy of its own memory and the timer
  // slack of its own threads.
  seccomp.set(SCMP_SYS(get_mempolicy), sandbox::kAllowed);
  seccomp.set(SCMP_SYS(set_mempolicy), sandbox::kAllowed);
  seccomp.allow_if(SCMP_SYS(prctl), {SCMP_A0(SCMP_CMP_EQ, PR_SET_TIMERSLACK)});

  sandbox::StagePolicy policy{"diskmaker", std::move(seccomp)};
  // CAP_CHOWN and CAP_FOWNER: a mount point emptied for its own partition is
  // remade with the owner, mode and times of the original.
  policy.capabilities = {CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE, CAP_CHOWN, CAP_FOWNER};
  // The disk file: a template's disk.size is at most 4 TiB
  // (config/partition_checks.cpp); qemu-img's formats add their metadata.
  policy.rlimits.push_back({RLIMIT_FSIZE, (4ULL << 40) + (16ULL << 30), (4ULL << 40) + (16ULL << 30)});
  return policy;
}

}  // namespace stage::diskmaker
