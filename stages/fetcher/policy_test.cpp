// The fetcher's sandbox: its decisions per syscall, the real filter, and a probe
// confined by the whole spec.
#include "stages/fetcher/policy.hpp"

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

namespace stage::fetcher {
namespace {

using sandbox::fail_with;
using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(FetcherPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(fetcher_policy(), {
      {"every stage reads", SCMP_SYS(read), kAllowed},
      {"always forbidden", SCMP_SYS(ptrace), kTrapped},
      {"always forbidden, also for the installer", SCMP_SYS(mount), kTrapped},
      {"always forbidden", SCMP_SYS(init_module), kTrapped},
      {"always forbidden", SCMP_SYS(setns), kTrapped},
      {"libc falls back to clone", SCMP_SYS(clone3), fail_with(ENOSYS)},
      {"never with namespace flags", SCMP_SYS(unshare), std::nullopt},
      {"downloads need TCP", SCMP_SYS(socket), std::nullopt},
      {"connects to the mirror", SCMP_SYS(connect), kAllowed},
      {"writes downloads", SCMP_SYS(rename), kAllowed},
      {"runs no tools", SCMP_SYS(execveat), kTrapped},
      {"owns nothing", SCMP_SYS(chown), kTrapped},
  });
}

TEST(FetcherPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {};
  EXPECT_EQ(fetcher_policy().capabilities, expected);
}

TEST(FetcherPolicy, ConfinesAProbeInItsSandbox) { sandbox::testing::expect_confined(fetcher_policy()); }

TEST(FetcherPolicy, KillsOnPtrace) {
  EXPECT_EXIT((sandbox::testing::load_filter(fetcher_policy()), ptrace(PTRACE_ATTACH, -1, nullptr, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(FetcherPolicy, KillsOnMount) {
  EXPECT_EXIT((sandbox::testing::load_filter(fetcher_policy()), mount(nullptr, nullptr, nullptr, 0, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(FetcherPolicy, KillsOnChown) {
  EXPECT_EXIT((sandbox::testing::load_filter(fetcher_policy()), chown("/nonexistent", 0, 0)),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter
// (bad arguments, so the kernel answers with an error instead of acting).
TEST(FetcherPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(fetcher_policy());
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool tcp = fd >= 0 && close(fd) == 0;
        const bool rename_ok = rename("/nonexistent/a", "/nonexistent/b") < 0 && errno == ENOENT;
        _exit(tcp && rename_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// The launcher's filter allows the exec of the stage itself; once running,
// the stage shuts that door too.
TEST(FetcherPolicy, RunningStageCannotExec) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(fetcher_policy());
        confine_running_stage(2);
        ::execl("/bin/true", "/bin/true", static_cast<char*>(nullptr));
        _exit(2);
      },
      ::testing::KilledBySignal(SIGSYS), "stage attempted forbidden syscall execve");
}

}  // namespace
}  // namespace stage::fetcher
