// What the isomaker's sandbox alone allows or refuses: its own decisions per
// syscall, its capabilities and its needs under the real filter. What every
// stage holds to is tested once in stages/policy_baseline_test.cpp.
#include "stages/isomaker/policy.hpp"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <vector>

#include "sandbox/testing/probe_run.hpp"
#include "stages/isomaker/host_programs.hpp"

namespace stage::isomaker {
namespace {

using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(IsomakerPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(isomaker_policy(), {
      {"execs xorriso, mtools and grub-mkimage", SCMP_SYS(execve), kAllowed},
      {"xorriso probes its output; all but TIOCSTI/TIOCLINUX, by argument", SCMP_SYS(ioctl), std::nullopt},
      {"writes the ISO", SCMP_SYS(ftruncate), kAllowed},
      {"no network", SCMP_SYS(socket), kTrapped},
      {"no chroot", SCMP_SYS(chroot), kTrapped},
      {"mtools drops set-id privileges", SCMP_SYS(setresuid), kAllowed},
      {"no NUMA policy (qemu-img is not run here)", SCMP_SYS(set_mempolicy), kTrapped},
  });
}

TEST(IsomakerPolicy, KeepsOnlyReadingCapabilities) {
  const std::vector<int> expected = {CAP_DAC_READ_SEARCH, CAP_DAC_OVERRIDE};
  EXPECT_EQ(isomaker_policy().capabilities, expected);
}

TEST(IsomakerPolicy, KillsOnChroot) {
  EXPECT_EXIT((sandbox::testing::load_filter(isomaker_policy()), chroot("/nonexistent")),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(IsomakerPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(isomaker_policy());
        const bool rename_ok = rename("/nonexistent/a", "/nonexistent/b") < 0 && errno == ENOENT;
        const bool truncate_ok = truncate("/nonexistent", 0) < 0 && errno == ENOENT;
        _exit(rename_ok && truncate_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(IsomakerHostPrograms, NameTheIndexerOfThePackageFamily) {
  const auto has = [](const std::vector<sandbox::HostProgram>& programs, const std::string& name) {
    for (const auto& p : programs) {
      if (p.program == name) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(iso_programs("deb"), "apt-ftparchive"));
  EXPECT_FALSE(has(iso_programs("deb"), "createrepo_c"));
  EXPECT_TRUE(has(iso_programs("rpm"), "createrepo_c"));
  EXPECT_TRUE(has(iso_programs(""), "xorriso"));
  EXPECT_TRUE(has(iso_programs(""), "mformat"));
  EXPECT_FALSE(has(iso_programs(""), "apt-ftparchive"));
}

}  // namespace
}  // namespace stage::isomaker
