// What the resolver's sandbox alone allows or refuses: its own decisions per
// syscall, its capabilities and its needs under the real filter. What every
// stage holds to is tested once in stages/policy_baseline_test.cpp.
#include "stages/resolver/policy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <vector>

#include "sandbox/testing/probe_run.hpp"

namespace stage::resolver {
namespace {

using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(ResolverPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(resolver_policy(), {
      {"no sockets of its own", SCMP_SYS(socket), kTrapped},
      {"no child processes", SCMP_SYS(fork), kTrapped},
      {"writes nothing", SCMP_SYS(rename), kTrapped},
      {"threads only", SCMP_SYS(clone), std::nullopt},
      {"reads indexes", SCMP_SYS(openat), kAllowed},
      {"maps plain indexes", SCMP_SYS(mmap), kAllowed},
      {"unmaps them", SCMP_SYS(munmap), kAllowed},
      {"advises huge pages", SCMP_SYS(madvise), kAllowed},
  });
}

TEST(ResolverPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {};
  EXPECT_EQ(resolver_policy().capabilities, expected);
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
        // A plain index is mapped (load_index_text): map a regular file, the test itself.
        const int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        void* map = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_POPULATE, exe, 0);
        const bool map_ok = exe >= 0 && map != MAP_FAILED && madvise(map, 4096, MADV_HUGEPAGE) >= 0 &&
                            munmap(map, 4096) == 0 && close(exe) == 0;
        _exit(read_ok && map_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// The launcher's filter allows the exec of the stage itself; once running,
// the stage shuts that door too.
TEST(ResolverPolicy, RunningStageCannotExec) {
  sandbox::testing::expect_no_exec_once_running(resolver_policy(), confine_running_stage);
}

}  // namespace
}  // namespace stage::resolver
