// The signer is the only stage given a private key. It signs with gpgme,
// which execs gpg, and gpg hands the secret key to gpg-agent: processes
// talking over AF_UNIX sockets in a GnuPG home inside the sandbox's own
// /tmp (a tmpfs nothing else sees). For Secure Boot it runs sbsign and
// sbverify (OpenSSL inside, from the host's /usr like every library the
// sandbox sees) on copies of the key, certificate and EFI binary in that
// same /tmp. No network, no capabilities, no host path but its own binary:
// the key and the file to sign arrive as fds.
#include "stages/signer/policy.hpp"

#include <sys/resource.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::signer {

sandbox::StagePolicy signer_policy() {
  namespace sc = sandbox::syscalls;
  // gpgme -> gpg -> gpg-agent; writes in GNUPGHOME: keyrings, lock files (link), sockets.
  sandbox::SeccompPolicy seccomp = sandbox::program_runner_policy();
  seccomp.allow(sc::local_sockets());   // gpg-agent listens, gpg connects
  sc::allow_unix_socket_creation(seccomp);
  seccomp.allow(sc::memory_locking());  // gpg's secure memory for the secret key
  // gpg-agent, which holds the secret key, watches its home and socket with
  // inotify (the verifier runs no agent).
  seccomp.allow({"file_watches", {SCMP_SYS(inotify_init), SCMP_SYS(inotify_init1), SCMP_SYS(inotify_add_watch),
                                   SCMP_SYS(inotify_rm_watch)}});

  sandbox::StagePolicy policy{"signer", std::move(seccomp)};
  policy.rlimits.push_back({RLIMIT_AS, 4ULL << 30, 4ULL << 30});
  // It writes gpg's files (a keyring of one key, the agent's key file) and
  // the copies of an EFI binary, before and after sbsign: a UKI holds the
  // kernel and the whole initrd.
  policy.rlimits.push_back({RLIMIT_FSIZE, 512ULL << 20, 512ULL << 20});
  return policy;
}

std::vector<sandbox::HostProgram> signer_host_programs(const sandbox::ImageFeatures& features) {
  std::vector<sandbox::HostProgram> programs = {{"gpg", "gnupg"}, {"gpg-agent", "gpg-agent"}, {"gpgconf", "gnupg"}};
  if (features.secure_boot) {
    programs.push_back({"sbsign", "sbsigntool"});
    programs.push_back({"sbverify", "sbsigntool"});
  }
  return programs;
}

}  // namespace stage::signer
