// What the verifier's sandbox alone allows or refuses: its own decisions per
// syscall, its capabilities and its needs under the real filter. What every
// stage holds to is tested once in stages/policy_baseline_test.cpp.
#include "stages/verifier/policy.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <vector>

#include "sandbox/testing/probe_run.hpp"

namespace stage::verifier {
namespace {

using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(VerifierPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(verifier_policy(), {
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
