// What the diskmaker's sandbox alone allows or refuses: its own decisions per
// syscall, its capabilities and its needs under the real filter. What every
// stage holds to is tested once in stages/policy_baseline_test.cpp.
#include "stages/diskmaker/policy.hpp"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <vector>

#include "sandbox/testing/probe_run.hpp"

namespace stage::diskmaker {
namespace {

using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(DiskmakerPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(diskmaker_policy(), {
      {"execs mkfs and mtools", SCMP_SYS(execve), kAllowed},
      {"mkfs probes its output; all but TIOCSTI/TIOCLINUX, by argument", SCMP_SYS(ioctl), std::nullopt},
      {"writes the disk file", SCMP_SYS(fallocate), kAllowed},
      {"no network", SCMP_SYS(socket), kTrapped},
      {"no chroot", SCMP_SYS(chroot), kTrapped},
      {"mtools drops set-id privileges", SCMP_SYS(setresuid), kAllowed},
      {"mtools drops set-id privileges", SCMP_SYS(setgid), kAllowed},
      {"qemu-img sets its own NUMA policy", SCMP_SYS(set_mempolicy), kAllowed},
  });
}

TEST(DiskmakerPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE, CAP_CHOWN, CAP_FOWNER};
  EXPECT_EQ(diskmaker_policy().capabilities, expected);
}

TEST(DiskmakerPolicy, KillsOnChroot) {
  EXPECT_EXIT((sandbox::testing::load_filter(diskmaker_policy()), chroot("/nonexistent")),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter
// (bad arguments, so the kernel answers with an error instead of acting).
TEST(DiskmakerPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(diskmaker_policy());
        const bool ioctl_ok = ioctl(-1, 0x80081272 /* BLKGETSIZE64 */, nullptr) < 0 && errno == EBADF;
        const bool truncate_ok = truncate("/nonexistent", 0) < 0 && errno == ENOENT;
        _exit(ioctl_ok && truncate_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace stage::diskmaker
