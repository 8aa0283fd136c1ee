// The isomaker's sandbox: its decisions per syscall, the real filter, and a probe
// confined by the whole spec.
#include "stages/isomaker/policy.hpp"

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

namespace stage::isomaker {
namespace {

using sandbox::fail_with;
using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(IsomakerPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(isomaker_policy(), {
      {"every stage reads", SCMP_SYS(read), kAllowed},
      {"always forbidden", SCMP_SYS(ptrace), kTrapped},
      {"always forbidden, also for the installer", SCMP_SYS(mount), kTrapped},
      {"always forbidden", SCMP_SYS(init_module), kTrapped},
      {"always forbidden", SCMP_SYS(setns), kTrapped},
      {"libc falls back to clone", SCMP_SYS(clone3), fail_with(ENOSYS)},
      {"never with namespace flags", SCMP_SYS(unshare), std::nullopt},
      {"execs xorriso and mksquashfs", SCMP_SYS(execve), kAllowed},
      {"writes the ISO", SCMP_SYS(pwrite64), kAllowed},
      {"no network", SCMP_SYS(socket), kTrapped},
      {"changes no owners", SCMP_SYS(chown), kTrapped},
  });
}

TEST(IsomakerPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {CAP_DAC_READ_SEARCH};
  EXPECT_EQ(isomaker_policy().capabilities, expected);
}

TEST(IsomakerPolicy, ConfinesAProbeInItsSandbox) { sandbox::testing::expect_confined(isomaker_policy()); }

TEST(IsomakerPolicy, KillsOnPtrace) {
  EXPECT_EXIT((sandbox::testing::load_filter(isomaker_policy()), ptrace(PTRACE_ATTACH, -1, nullptr, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(IsomakerPolicy, KillsOnMount) {
  EXPECT_EXIT((sandbox::testing::load_filter(isomaker_policy()), mount(nullptr, nullptr, nullptr, 0, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(IsomakerPolicy, KillsOnSocket) {
  EXPECT_EXIT((sandbox::testing::load_filter(isomaker_policy()), socket(AF_UNIX, SOCK_STREAM, 0)),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter
// (bad arguments, so the kernel answers with an error instead of acting).
TEST(IsomakerPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(isomaker_policy());
        const pid_t child = fork();
        if (child == 0) _exit(0);
        const bool mkdir_ok = mkdir("/nonexistent/x", 0755) < 0 && errno == ENOENT;
        _exit(child > 0 && mkdir_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace stage::isomaker
