// What the signer's sandbox alone allows or refuses: its own decisions per
// syscall, its capabilities, its limits and its needs under the real filter.
// What every stage holds to is tested once in stages/policy_baseline_test.cpp.
#include "stages/signer/policy.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

#include "sandbox/testing/probe_run.hpp"
#include "tests/support/secure_boot_keys.hpp"
#include "tests/support/temp_dir.hpp"

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

// Room for a UKI's copies (kernel and initrd), no more.
TEST(SignerPolicy, WritesFilesNoLargerThanAnEfiBinary) {
  bool fsize = false;
  for (const auto& limit : signer_policy().rlimits) {
    if (limit.resource == RLIMIT_FSIZE) fsize = limit.soft == (512ULL << 20) && limit.hard == (512ULL << 20);
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

std::vector<std::string> program_names(const sandbox::ImageFeatures& features) {
  std::vector<std::string> names;
  for (const auto& p : signer_host_programs(features)) names.push_back(p.program);
  return names;
}

TEST(SignerPolicy, NamesTheGpgProgramsItRuns) {
  EXPECT_EQ(program_names({}), (std::vector<std::string>{"gpg", "gpg-agent", "gpgconf"}));
}

TEST(SignerPolicy, NamesSbsigntoolsProgramsForSecureBoot) {
  sandbox::ImageFeatures features;
  features.secure_boot = true;
  EXPECT_EQ(program_names(features), (std::vector<std::string>{"gpg", "gpg-agent", "gpgconf", "sbsign", "sbverify"}));
  for (const auto& p : signer_host_programs(features)) {
    if (p.program.starts_with("sb")) {
      EXPECT_EQ(p.package, "sbsigntool") << p.program;
    }
  }
}

// fork and execve as the stage does (stages/signer/program.cpp), output to
// /dev/null; true when `argv` exits 0.
bool runs(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  char env[] = "OPENSSL_CONF=/dev/null";
  char* envp[] = {env, nullptr};
  const pid_t child = fork();
  if (child == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    execve(args[0], args.data(), envp);
    _exit(127);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// sbsign and sbverify run under the real filter: the stage's own process
// loads it, forks and execs them (as it does gpg), and OpenSSL inside signs
// and checks an EFI binary.
TEST(SignerPolicy, SbsignAndSbverifyRunUnderTheFilter) {
  const tests::TempDir dir("oic-signer-policy");
  tests::support::make_secure_boot_files(dir.path());
  const std::string d = dir.path().string();
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(signer_policy());
        const bool sign = runs({"/usr/bin/sbsign", "--key", d + "/db.key", "--cert", d + "/db.crt", "--output",
                                d + "/signed.efi", d + "/app.efi"});
        _exit(sign && runs({"/usr/bin/sbverify", "--cert", d + "/db.crt", d + "/signed.efi"}) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  // And the signature is real: another certificate is refused.
  EXPECT_FALSE(runs({"/usr/bin/sbverify", "--cert", d + "/other.crt", d + "/signed.efi"}));
}

}  // namespace
}  // namespace stage::signer
