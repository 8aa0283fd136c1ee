// The signer signs EFI binaries and images with sbsign/openssl using a key it
// is handed as an fd: exec of those tools and file IO on its output only.
// No network, no capabilities.
#include "stages/signer/policy.hpp"

#include <sys/resource.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::signer {

sandbox::StagePolicy signer_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = sandbox::baseline_policy();
  seccomp.allow(sc::process_spawn());
  sc::allow_clone_processes(seccomp);
  seccomp.allow(sc::filesystem_write());

  sandbox::StagePolicy policy{"signer", std::move(seccomp)};
  policy.rlimits.push_back({RLIMIT_AS, 8ULL << 30, 8ULL << 30});
  // It may write a signed copy of a whole disk: the diskmaker's limit.
  policy.rlimits.push_back({RLIMIT_FSIZE, (4ULL << 40) + (16ULL << 30), (4ULL << 40) + (16ULL << 30)});
  return policy;
}

}  // namespace stage::signer
