// What the inspector's sandbox alone allows or refuses: it reads and runs
// programs, and every way to write a file is closed. What every stage holds
// to is tested once in stages/policy_baseline_test.cpp.
#include "stages/inspector/policy.hpp"
#include "stages/inspector/qcow2.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

#include "sandbox/testing/probe_run.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::inspector {
namespace {

using sandbox::kAllowed;
using sandbox::kTrapped;

TEST(InspectorPolicy, DecidesSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(inspector_policy(), {
      {"runs sfdisk, blkid, debugfs", SCMP_SYS(execve), kAllowed},
      {"opens by its flags", SCMP_SYS(openat), std::nullopt},
      {"sizes the raw image of a qcow2 one (ftruncate)", SCMP_SYS(ftruncate), kAllowed},
      {"no truncate by path", SCMP_SYS(truncate), kTrapped},
      {"no fallocate", SCMP_SYS(fallocate), kTrapped},
      {"no rename", SCMP_SYS(rename), kTrapped},
      {"no unlink", SCMP_SYS(unlinkat), kTrapped},
      {"owns nothing", SCMP_SYS(chown), kTrapped},
      {"no sockets (nscd's is tried)", SCMP_SYS(socket), sandbox::fail_with(EACCES)},
      {"no connect", SCMP_SYS(connect), kTrapped},
      {"mounts nothing", SCMP_SYS(mount), kTrapped},
      {"no ptrace", SCMP_SYS(ptrace), kTrapped},
  });
}

// The launch policy writes at most a raw image of the largest virtual size;
// restrict_to_reading() (below) lowers that to nothing.
TEST(InspectorPolicy, KeepsNoCapabilitiesAndBoundsWrites) {
  EXPECT_TRUE(inspector_policy().capabilities.empty());
  bool fsize = false;
  for (const auto& limit : inspector_policy().rlimits) {
    if (limit.resource == RLIMIT_FSIZE) fsize = limit.soft == kMaxVirtualSize && limit.hard == kMaxVirtualSize;
  }
  EXPECT_TRUE(fsize);
}

// The launch policy alone: a reopen read-write (qemu-img's /dev/fd/4) works;
// creating, truncating and write-only opens fail with EROFS.
TEST(InspectorPolicy, LetsAConversionReopenItsOutputReadWriteOnly) {
  tests::TempDir dir("inspector-policy");
  const std::string file = (dir.path() / "raw").string();
  std::ofstream(file) << "raw";
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(inspector_policy());
        const int ro = open(file.c_str(), O_RDONLY | O_CLOEXEC);
        const std::string again = "/proc/self/fd/" + std::to_string(ro);
        bool refused = true;
        for (int flags : {O_WRONLY, O_RDONLY | O_TRUNC, O_RDWR | O_CREAT}) {
          errno = 0;
          refused = refused && open(again.c_str(), flags | O_CLOEXEC, 0600) < 0 && errno == EROFS;
        }
        _exit(ro >= 0 && refused && open(again.c_str(), O_RDWR | O_CLOEXEC) >= 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// After restrict_to_reading(), as every inspection runs: a file of the
// test's, reopened through /proc/self/fd for writing, truncating or created
// anew: each open fails with EROFS, ftruncate with EPERM, a read-only open
// works, RLIMIT_FSIZE is 0 for good, and the file is unchanged.
TEST(InspectorPolicy, RefusesEveryOpenForWriting) {
  tests::TempDir dir("inspector-policy");
  const std::string file = (dir.path() / "image").string();
  std::ofstream(file) << "image bytes";
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(inspector_policy());
        std::signal(SIGXFSZ, SIG_IGN);  // gtest's death test writes its file: EFBIG, not a kill
        restrict_to_reading();
        const int ro = open(file.c_str(), O_RDONLY | O_CLOEXEC);
        const std::string again = "/proc/self/fd/" + std::to_string(ro);
        bool refused = ftruncate(ro, 0) < 0 && errno == EPERM;
        rlimit fsize{};
        getrlimit(RLIMIT_FSIZE, &fsize);
        refused = refused && fsize.rlim_cur == 0 && fsize.rlim_max == 0;
        for (int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_TRUNC, O_WRONLY | O_CREAT | O_TRUNC}) {
          errno = 0;
          refused = refused && open(again.c_str(), flags | O_CLOEXEC) < 0 && errno == EROFS;
        }
        errno = 0;
        refused = refused && open((file + ".new").c_str(), O_RDONLY | O_CREAT, 0600) < 0 && errno == EROFS;
        const int reread = open(again.c_str(), O_RDONLY | O_CLOEXEC);
        _exit(ro >= 0 && reread >= 0 && refused ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  std::ifstream in(file);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "image bytes");
}

TEST(InspectorPolicy, RunsAProgram) {
  EXPECT_EXIT(
      {
        sandbox::testing::load_filter(inspector_policy());
        std::signal(SIGXFSZ, SIG_IGN);  // gtest's death test writes its file: EFBIG, not a kill
        restrict_to_reading();
        const pid_t child = fork();
        if (child == 0) {
          execl("/usr/bin/true", "true", static_cast<char*>(nullptr));
          _exit(3);
        }
        int status = 0;
        waitpid(child, &status, 0);
        _exit(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(InspectorPolicy, NamesItsHostPrograms) {
  std::vector<std::string> names;
  for (const auto& p : inspector_host_programs({})) names.push_back(p.program);
  EXPECT_EQ(names, (std::vector<std::string>{"sfdisk", "blkid", "debugfs", "mdir", "mtype"}));
}

}  // namespace
}  // namespace stage::inspector
