// The verifier's sandbox: its decisions per syscall, the real filter, and a probe
// confined by the whole spec.
#include "stages/verifier/policy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "sandbox/testing/probe_run.hpp"

namespace stage::verifier {
namespace {

using sandbox::fail_with;
using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(VerifierPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(verifier_policy(), {
      {"every stage reads", SCMP_SYS(read), kAllowed},
      {"always forbidden", SCMP_SYS(ptrace), kTrapped},
      {"always forbidden, also for the installer", SCMP_SYS(mount), kTrapped},
      {"always forbidden", SCMP_SYS(init_module), kTrapped},
      {"always forbidden", SCMP_SYS(setns), kTrapped},
      {"libc falls back to clone", SCMP_SYS(clone3), fail_with(ENOSYS)},
      {"never with namespace flags", SCMP_SYS(unshare), std::nullopt},
      {"gpg-agent sockets only", SCMP_SYS(socket), std::nullopt},
      {"gpg-agent listens", SCMP_SYS(listen), kAllowed},
      {"gpgme execs gpg", SCMP_SYS(execve), kAllowed},
      {"gpg secure memory", SCMP_SYS(mlock), kAllowed},
      {"owns nothing", SCMP_SYS(chown), kTrapped},
      {"no chroot", SCMP_SYS(chroot), kTrapped},
  });
}

TEST(VerifierPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {};
  EXPECT_EQ(verifier_policy().capabilities, expected);
}

TEST(VerifierPolicy, ConfinesAProbeInItsSandbox) { sandbox::testing::expect_confined(verifier_policy()); }

TEST(VerifierPolicy, KillsOnPtrace) {
  EXPECT_EXIT((sandbox::testing::load_filter(verifier_policy()), ptrace(PTRACE_ATTACH, -1, nullptr, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(VerifierPolicy, KillsOnMount) {
  EXPECT_EXIT((sandbox::testing::load_filter(verifier_policy()), mount(nullptr, nullptr, nullptr, 0, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(VerifierPolicy, KillsOnInternetSocket) {
  EXPECT_EXIT((sandbox::testing::load_filter(verifier_policy()), socket(AF_INET, SOCK_STREAM, 0)),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter
// (bad arguments, so the kernel answers with an error instead of acting).
TEST(VerifierPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(verifier_policy());
        const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool unix_ok = fd >= 0 && close(fd) == 0;
        const pid_t child = fork();
        if (child == 0) _exit(0);
        _exit(unix_ok && child > 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace stage::verifier
