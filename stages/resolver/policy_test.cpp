// The resolver's sandbox: its decisions per syscall, the real filter, and a probe
// confined by the whole spec.
#include "stages/resolver/policy.hpp"

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

namespace stage::resolver {
namespace {

using sandbox::fail_with;
using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(ResolverPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(resolver_policy(), {
      {"every stage reads", SCMP_SYS(read), kAllowed},
      {"always forbidden", SCMP_SYS(ptrace), kTrapped},
      {"always forbidden, also for the installer", SCMP_SYS(mount), kTrapped},
      {"always forbidden", SCMP_SYS(init_module), kTrapped},
      {"always forbidden", SCMP_SYS(setns), kTrapped},
      {"libc falls back to clone", SCMP_SYS(clone3), fail_with(ENOSYS)},
      {"never with namespace flags", SCMP_SYS(unshare), std::nullopt},
      {"no sockets of its own", SCMP_SYS(socket), kTrapped},
      {"no child processes", SCMP_SYS(fork), kTrapped},
      {"writes nothing", SCMP_SYS(rename), kTrapped},
      {"threads only", SCMP_SYS(clone), std::nullopt},
      {"reads indexes", SCMP_SYS(openat), kAllowed},
  });
}

TEST(ResolverPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {};
  EXPECT_EQ(resolver_policy().capabilities, expected);
}

TEST(ResolverPolicy, ConfinesAProbeInItsSandbox) { sandbox::testing::expect_confined(resolver_policy()); }

TEST(ResolverPolicy, KillsOnPtrace) {
  EXPECT_EXIT((sandbox::testing::load_filter(resolver_policy()), ptrace(PTRACE_ATTACH, -1, nullptr, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(ResolverPolicy, KillsOnMount) {
  EXPECT_EXIT((sandbox::testing::load_filter(resolver_policy()), mount(nullptr, nullptr, nullptr, 0, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(ResolverPolicy, KillsOnFork) {
  EXPECT_EXIT((sandbox::testing::load_filter(resolver_policy()), syscall(SYS_fork)),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter
// (bad arguments, so the kernel answers with an error instead of acting).
TEST(ResolverPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(resolver_policy());
        const int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        char buf[16];
        const bool read_ok = fd >= 0 && read(fd, buf, sizeof(buf)) > 0 && close(fd) == 0;
        _exit(read_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// The launcher's filter allows the exec of the stage itself; once running,
// the stage shuts that door too.
TEST(ResolverPolicy, RunningStageCannotExec) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(resolver_policy());
        confine_running_stage(2);
        ::execl("/bin/true", "/bin/true", static_cast<char*>(nullptr));
        _exit(2);
      },
      ::testing::KilledBySignal(SIGSYS), "stage attempted forbidden syscall execve");
}

}  // namespace
}  // namespace stage::resolver
