// The signer's sandbox: its decisions per syscall, the real filter, and a probe
// confined by the whole spec.
#include "stages/signer/policy.hpp"

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

namespace stage::signer {
namespace {

using sandbox::fail_with;
using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(SignerPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(signer_policy(), {
      {"every stage reads", SCMP_SYS(read), kAllowed},
      {"always forbidden", SCMP_SYS(ptrace), kTrapped},
      {"always forbidden, also for the installer", SCMP_SYS(mount), kTrapped},
      {"always forbidden", SCMP_SYS(init_module), kTrapped},
      {"always forbidden", SCMP_SYS(setns), kTrapped},
      {"libc falls back to clone", SCMP_SYS(clone3), fail_with(ENOSYS)},
      {"never with namespace flags", SCMP_SYS(unshare), std::nullopt},
      {"execs sbsign", SCMP_SYS(execve), kAllowed},
      {"writes the signed file", SCMP_SYS(renameat2), kAllowed},
      {"no network", SCMP_SYS(socket), kTrapped},
      {"no device ioctls", SCMP_SYS(ioctl), std::nullopt},
  });
}

TEST(SignerPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {};
  EXPECT_EQ(signer_policy().capabilities, expected);
}

TEST(SignerPolicy, ConfinesAProbeInItsSandbox) { sandbox::testing::expect_confined(signer_policy()); }

TEST(SignerPolicy, KillsOnPtrace) {
  EXPECT_EXIT((sandbox::testing::load_filter(signer_policy()), ptrace(PTRACE_ATTACH, -1, nullptr, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(SignerPolicy, KillsOnMount) {
  EXPECT_EXIT((sandbox::testing::load_filter(signer_policy()), mount(nullptr, nullptr, nullptr, 0, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(SignerPolicy, KillsOnSocket) {
  EXPECT_EXIT((sandbox::testing::load_filter(signer_policy()), socket(AF_INET, SOCK_STREAM, 0)),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter
// (bad arguments, so the kernel answers with an error instead of acting).
TEST(SignerPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(signer_policy());
        const pid_t child = fork();
        if (child == 0) _exit(0);
        _exit(child > 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace stage::signer
