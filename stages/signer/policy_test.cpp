// What the signer's sandbox alone allows or refuses: its own decisions per
// syscall, its capabilities, its limits and its needs under the real filter.
// What every stage holds to is tested once in stages/policy_baseline_test.cpp.
#include "stages/signer/policy.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <vector>

#include "sandbox/testing/probe_run.hpp"

namespace stage::signer {
namespace {

using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(SignerPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(signer_policy(), {
      {"gpg-agent sockets only", SCMP_SYS(socket), std::nullopt},
      {"gpg-agent listens", SCMP_SYS(listen), kAllowed},
      {"gpgme execs gpg", SCMP_SYS(execve), kAllowed},
      {"gpg secure memory for the secret key", SCMP_SYS(mlock), kAllowed},
      {"gpg-agent watches its home", SCMP_SYS(inotify_add_watch), kAllowed},
      {"owns nothing", SCMP_SYS(chown), kTrapped},
      {"no chroot", SCMP_SYS(chroot), kTrapped},
      {"mounts nothing", SCMP_SYS(mount), kTrapped},
      {"no ptrace of its helpers", SCMP_SYS(ptrace), kTrapped},
  });
}

TEST(SignerPolicy, KeepsNoCapabilities) {
  const std::vector<int> expected = {};
  EXPECT_EQ(signer_policy().capabilities, expected);
}

TEST(SignerPolicy, WritesOnlySmallFiles) {
  bool fsize = false;
  for (const auto& limit : signer_policy().rlimits) {
    if (limit.resource == RLIMIT_FSIZE) fsize = limit.soft <= (64ULL << 20) && limit.hard <= (64ULL << 20);
  }
  EXPECT_TRUE(fsize);
}

TEST(SignerPolicy, KillsOnInternetSocket) {
  EXPECT_EXIT((sandbox::testing::load_filter(signer_policy()), socket(AF_INET, SOCK_STREAM, 0)),
              ::testing::KilledBySignal(SIGSYS), "");
  EXPECT_EXIT((sandbox::testing::load_filter(signer_policy()), socket(AF_INET6, SOCK_DGRAM, 0)),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every allowed call the stage depends on still works under the real filter.
TEST(SignerPolicy, AllowsWhatTheStageNeeds) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(signer_policy());
        const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool unix_ok = fd >= 0 && close(fd) == 0;
        const pid_t child = fork();
        if (child == 0) _exit(0);
        _exit(unix_ok && child > 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(SignerPolicy, NamesTheGpgProgramsItRuns) {
  const auto programs = signer_host_programs({});
  std::vector<std::string> names;
  for (const auto& p : programs) names.push_back(p.program);
  EXPECT_EQ(names, (std::vector<std::string>{"gpg", "gpg-agent", "gpgconf"}));
}

}  // namespace
}  // namespace stage::signer
