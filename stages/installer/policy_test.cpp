// What the installer's sandbox alone allows or refuses: its own decisions per
// syscall, its capabilities and its needs under the real filter. What every
// stage holds to is tested once in stages/policy_baseline_test.cpp.
#include "stages/installer/policy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <vector>

#include "sandbox/testing/probe_run.hpp"

namespace stage::installer {
namespace {

using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(InstallerPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(installer_policy(), {
      {"dpkg chowns", SCMP_SYS(fchownat), kAllowed},
      {"maintainer scripts change user", SCMP_SYS(setresuid), kAllowed},
      {"chroot into the image", SCMP_SYS(chroot), kAllowed},
      {"runs scripts", SCMP_SYS(execve), kAllowed},
      {"dpkg tries mknod", SCMP_SYS(mknodat), kAllowed},
      {"no network", SCMP_SYS(socket), std::nullopt},
      {"no keyrings", SCMP_SYS(keyctl), kTrapped},
  });
}

TEST(InstallerPolicy, KeepsOnlyItsDeclaredCapabilities) {
  const std::vector<int> expected = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_SETUID, CAP_SETGID, CAP_SETFCAP, CAP_SYS_CHROOT};
  EXPECT_EQ(installer_policy().capabilities, expected);
}

TEST(InstallerPolicy, AnswersNonUnixSocketsWithEafnosupport) {
  // shadow's groupadd opens an audit socket and goes on without audit then.
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(installer_policy());
        const bool audit = socket(AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */) < 0 && errno == EAFNOSUPPORT;
        const bool inet = socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EAFNOSUPPORT;
        const int unix_fd = socket(AF_UNIX, SOCK_STREAM, 0);
        _exit(audit && inet && unix_fd >= 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(InstallerPolicy, AllowsIoctlsOfScriptsButNotTypingIntoATerminal) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(installer_policy());
        int pipefd[2];
        int queued = -1;
        termios mode{};
        const bool fionread = pipe(pipefd) == 0 && ioctl(pipefd[0], FIONREAD, &queued) == 0 && queued == 0;
        const bool tcgets = ioctl(pipefd[0], TCGETS, &mode) < 0 && errno == ENOTTY;
        _exit(fionread && tcgets ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  const char c = 'x';
  EXPECT_EXIT((sandbox::testing::load_filter(installer_policy()), ioctl(0, TIOCSTI, &c)),
              ::testing::KilledBySignal(SIGSYS), "");
  EXPECT_EXIT((sandbox::testing::load_filter(installer_policy()), ioctl(0, TIOCLINUX, &c)),
              ::testing::KilledBySignal(SIGSYS), "");
  // The kernel reads the request as 32 bits: high bits do not hide it.
  EXPECT_EXIT((sandbox::testing::load_filter(installer_policy()), syscall(SYS_ioctl, 0, 0x100000000ul | TIOCSTI, &c)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(InstallerPolicy, KillsOnPivotRoot) {
  EXPECT_EXIT((sandbox::testing::load_filter(installer_policy()), syscall(SYS_pivot_root, "/nonexistent", "/nonexistent")),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter
// (bad arguments, so the kernel answers with an error instead of acting).
TEST(InstallerPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(installer_policy());
        // Unprivileged, the kernel checks capabilities first and answers EPERM.
        const bool chroot_ok = chroot("/nonexistent") < 0 && (errno == ENOENT || errno == EPERM);
        const bool chown_ok = chown("/nonexistent", 0, 0) < 0 && (errno == ENOENT || errno == EPERM);
        const bool setgroups_ok = syscall(SYS_setgroups, -1, nullptr) < 0 && (errno == EINVAL || errno == EPERM);
        _exit(chroot_ok && chown_ok && setgroups_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// systemd 256 and later call fchmodat2 directly (Debian 13's systemd-sysusers
// in systemd's postinst): trapped, it failed the package. It reaches the
// kernel, which answers ENOENT here (ENOSYS before Linux 6.6).
TEST(InstallerPolicy, LetsMaintainerScriptsCallFchmodat2) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(installer_policy());
        constexpr long kFchmodat2 = 452;  // every architecture's number
        const long r = syscall(kFchmodat2, AT_FDCWD, "/nonexistent", 0644, 0);
        _exit(r < 0 && (errno == ENOENT || errno == ENOSYS) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace stage::installer
