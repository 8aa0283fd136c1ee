// The verifier checks repository signatures with gpgme, which execs gpg and
// starts gpg-agent: processes talking over AF_UNIX sockets in a private
// GNUPGHOME. No network, no capabilities.
#include "stages/verifier/policy.hpp"

#include <sys/resource.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::verifier {

sandbox::StagePolicy verifier_policy() {
  namespace sc = sandbox::syscalls;
  // gpgme -> gpg -> gpg-agent; writes in GNUPGHOME: keyrings, lock files (link), sockets.
  sandbox::SeccompPolicy seccomp = sandbox::program_runner_policy();
  seccomp.allow(sc::local_sockets());     // gpg-agent listens, gpg connects
  sc::allow_unix_socket_creation(seccomp);
  seccomp.allow(sc::memory_locking());    // gpg's secure memory; without it gpg only warns

  sandbox::StagePolicy policy{"verifier", std::move(seccomp)};
  policy.rlimits.push_back({RLIMIT_AS, 8ULL << 30, 8ULL << 30});
  // It writes decompressed indexes (bookworm main: ~45 MB) and gpg's files.
  policy.rlimits.push_back({RLIMIT_FSIZE, 4ULL << 30, 4ULL << 30});
  return policy;
}

std::vector<sandbox::HostProgram> verifier_host_programs(const sandbox::ImageFeatures&) {
  return {{"gpg", "gnupg"}, {"gpgconf", "gnupg"}};
}

}  // namespace stage::verifier
