// The isomaker builds a live ISO with mksquashfs, mkfs.vfat/mtools and
// xorriso: it execs those tools, reads the whole image tree and writes one
// output file. No network.
#include "stages/isomaker/policy.hpp"

#include <sys/resource.h>
#include <linux/capability.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::isomaker {

sandbox::StagePolicy isomaker_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = sandbox::baseline_policy();
  seccomp.allow(sc::process_spawn());
  sc::allow_clone_processes(seccomp);  // mksquashfs is multi-threaded, xorriso forks
  seccomp.allow(sc::filesystem_write());
  sc::allow_any_ioctl(seccomp);        // xorriso and mkfs query their output file

  sandbox::StagePolicy policy{"isomaker", std::move(seccomp)};
  // mksquashfs must read files of any owner and mode in the tree.
  policy.capabilities = {CAP_DAC_READ_SEARCH};
  // The ISO and its squashfs: the image tree compressed.
  policy.rlimits.push_back({RLIMIT_FSIZE, 64ULL << 30, 64ULL << 30});
  return policy;
}

}  // namespace stage::isomaker
