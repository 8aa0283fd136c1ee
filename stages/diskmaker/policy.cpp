// The diskmaker turns the image tree into a partitioned disk file with
// sfdisk, mkfs.* -d, mtools and qemu-img: it execs those tools and writes
// one output file. No network. mkfs must read every file of the tree,
// whatever its owner and mode, and record owners and xattrs as they are.
#include "stages/diskmaker/policy.hpp"

#include <linux/capability.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::diskmaker {

sandbox::StagePolicy diskmaker_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = sandbox::baseline_policy();
  seccomp.allow(sc::process_spawn());
  sc::allow_clone_processes(seccomp);
  seccomp.allow(sc::filesystem_write());
  seccomp.allow(sc::ownership());  // mkfs.vfat/mtools set owners of their own output
  sc::allow_any_ioctl(seccomp);    // mkfs asks block-device ioctls of a plain file (ENOTTY)

  sandbox::StagePolicy policy{"diskmaker", std::move(seccomp)};
  policy.capabilities = {CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE};
  return policy;
}

}  // namespace stage::diskmaker
