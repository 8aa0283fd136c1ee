// The real filter: fork (gtest death tests), load the baseline in the
// child, and call syscalls with bad arguments so nothing happens if allowed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/seccomp.hpp"
#include "sandbox/syscall_sets.hpp"

namespace sandbox {
namespace {

void load_baseline() { SeccompFilter(baseline_policy()).load(); }

TEST(BaselineFilter, KillsOnPtrace) {
  EXPECT_EXIT((load_baseline(), ptrace(PTRACE_ATTACH, -1, nullptr, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(BaselineFilter, KillsOnMount) {
  EXPECT_EXIT((load_baseline(), mount(nullptr, nullptr, nullptr, 0, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST(BaselineFilter, KillsOnUnshareOfAUserNamespace) {
  EXPECT_EXIT((load_baseline(), unshare(CLONE_NEWUSER)), ::testing::KilledBySignal(SIGSYS), "");
}

// Stages that may fork still cannot clone into a new user namespace.
TEST(ProcessSpawningFilter, KillsOnCloneWithNamespaceFlags) {
  SeccompPolicy policy = baseline_policy();
  syscalls::allow_clone_processes(policy);
  EXPECT_EXIT((SeccompFilter(policy).load(), syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
  EXPECT_EXIT(
      {
        SeccompFilter(policy).load();
        const long pid = syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
        if (pid == 0) _exit(0);
        _exit(pid > 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(BaselineFilter, KillsOnSocketCreation) {
  EXPECT_EXIT((load_baseline(), syscall(SYS_socket, -1, -1, -1)), ::testing::KilledBySignal(SIGSYS), "");
}

TEST(BaselineFilter, ReporterNamesTheSyscallBeforeDying) {
  EXPECT_EXIT((install_sigsys_reporter(STDERR_FILENO), load_baseline(), syscall(SYS_keyctl, -1, 0, 0, 0, 0)),
              ::testing::KilledBySignal(SIGSYS),
              "seccomp: stage attempted forbidden syscall keyctl \\(250\\)");
}

// The fallbacks and argument rules must not kill: the process goes on.
TEST(BaselineFilter, AnswersClone3WithEnosysAndAllowsHarmlessCalls) {
  EXPECT_EXIT(
      {
        load_baseline();
        const bool clone3_enosys = syscall(SYS_clone3, nullptr, 0) < 0 && errno == ENOSYS;
        const bool unshare_fs_ok = unshare(CLONE_FS) == 0;
        const bool close_bad_fd = close(-1) < 0 && errno == EBADF;
        const bool getpid_ok = getpid() > 0;
        _exit(clone3_enosys && unshare_fs_ok && close_bad_fd && getpid_ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace sandbox
