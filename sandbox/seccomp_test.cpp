// Policy data and compilation: pure logic, no filter is loaded here.
#include "sandbox/seccomp.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <optional>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"

namespace sandbox {
namespace {

TEST(BaselinePolicy, DecidesEachSyscallAsDocumented) {
  struct Case {
    const char* name;
    int nr;
    std::optional<Decision> expected;  // nullopt: argument rules decide
  };
  const Case cases[] = {
      {"read", SCMP_SYS(read), kAllowed},                     // every stage does IO on fds
      {"exit_group", SCMP_SYS(exit_group), kAllowed},         // and exits
      {"execve", SCMP_SYS(execve), kAllowed},                 // the launcher's own exec
      {"clone3", SCMP_SYS(clone3), fail_with(ENOSYS)},        // glibc falls back to clone
      {"io_uring_setup", SCMP_SYS(io_uring_setup), fail_with(ENOSYS)},
      {"ptrace", SCMP_SYS(ptrace), kTrapped},                 // always forbidden
      {"mount", SCMP_SYS(mount), kTrapped},
      {"open_tree", SCMP_SYS(open_tree), kTrapped},
      {"init_module", SCMP_SYS(init_module), kTrapped},
      {"bpf", SCMP_SYS(bpf), kTrapped},
      {"keyctl", SCMP_SYS(keyctl), kTrapped},
      {"setns", SCMP_SYS(setns), kTrapped},
      {"socket", SCMP_SYS(socket), kTrapped},                 // not in the baseline at all
      {"chown", SCMP_SYS(chown), kTrapped},
      {"clone", SCMP_SYS(clone), std::nullopt},               // threads only, no namespaces
      {"unshare", SCMP_SYS(unshare), std::nullopt},           // never with namespace flags
      {"prctl", SCMP_SYS(prctl), std::nullopt},
      {"ioctl", SCMP_SYS(ioctl), std::nullopt},
  };
  const SeccompPolicy policy = baseline_policy();
  EXPECT_EQ(policy.default_decision(), kTrapped);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(policy.decision_for(c.nr), c.expected);
  }
}

TEST(BaselinePolicy, EveryAlwaysForbiddenSyscallIsLockedAndTrapped) {
  const SeccompPolicy policy = baseline_policy();
  for (const SyscallSet& set : always_forbidden()) {
    for (int nr : set.syscalls) {
      SCOPED_TRACE(syscall_name(nr));
      EXPECT_TRUE(policy.is_forbidden(nr));
      EXPECT_EQ(policy.decision_for(nr), kTrapped);
    }
  }
}

TEST(ProgramRunnerPolicy, AddsForkExecAndFileWritesToTheBaseline) {
  const SeccompPolicy policy = program_runner_policy();
  const std::pair<int, std::optional<Decision>> cases[] = {
      {SCMP_SYS(fork), kAllowed},        // runs programs
      {SCMP_SYS(wait4), kAllowed},       // and waits for them
      {SCMP_SYS(execveat), kAllowed},
      {SCMP_SYS(clone), std::nullopt},   // child processes too, still no namespaces
      {SCMP_SYS(unlink), kAllowed},      // writes files
      {SCMP_SYS(fallocate), kAllowed},
      {SCMP_SYS(chown), kTrapped},       // owners, sockets, chroot: the stage's own choice
      {SCMP_SYS(socket), kTrapped},
      {SCMP_SYS(chroot), kTrapped},
      {SCMP_SYS(read), kAllowed},        // the baseline stays
      {SCMP_SYS(clone3), fail_with(ENOSYS)},
  };
  for (const auto& [nr, expected] : cases) {
    SCOPED_TRACE(syscall_name(nr));
    EXPECT_EQ(policy.decision_for(nr), expected);
  }
  for (const SyscallSet& set : always_forbidden()) {
    for (int nr : set.syscalls) EXPECT_TRUE(policy.is_forbidden(nr)) << syscall_name(nr);
  }
}

TEST(SeccompPolicy, RefusesToAllowAForbiddenSyscall) {
  SeccompPolicy policy = baseline_policy();
  EXPECT_THROW(policy.allow({"mounting", {SCMP_SYS(mount)}}), base::Error);
  EXPECT_THROW(policy.set(SCMP_SYS(ptrace), kAllowed), base::Error);
  EXPECT_THROW(policy.allow_if(SCMP_SYS(setns), {SCMP_A1(SCMP_CMP_EQ, 0)}), base::Error);
}

TEST(SeccompPolicy, ConditionalRuleLeavesTheDecisionToTheFilter) {
  SeccompPolicy policy;
  policy.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, 1)});
  EXPECT_TRUE(policy.is_conditional(SCMP_SYS(socket)));
  policy.set(SCMP_SYS(socket), kAllowed);
  EXPECT_EQ(policy.decision_for(SCMP_SYS(socket)), kAllowed);
}

TEST(SeccompFilter, CompilesTheBaselineToBpf) {
  const BpfProgram program = SeccompFilter(baseline_policy()).export_bpf();
  EXPECT_GT(program.instructions.size(), 20u);
  EXPECT_LT(program.instructions.size(), 4096u);  // BPF_MAXINSNS
}

bool same_program(const BpfProgram& a, const BpfProgram& b) {
  if (a.instructions.size() != b.instructions.size()) return false;
  for (size_t i = 0; i < a.instructions.size(); ++i) {
    const sock_filter& x = a.instructions[i];
    const sock_filter& y = b.instructions[i];
    if (x.code != y.code || x.jt != y.jt || x.jf != y.jf || x.k != y.k) return false;
  }
  return true;
}

TEST(CompiledBpf, GivesEachPolicyItsOwnProgram) {
  SeccompPolicy eq_one = baseline_policy();
  eq_one.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, 1)});
  SeccompPolicy eq_two = baseline_policy();
  eq_two.allow_if(SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, 2)});
  SeccompPolicy errno_one = baseline_policy();
  errno_one.set(SCMP_SYS(socket), fail_with(1));
  SeccompPolicy errno_two = baseline_policy();
  errno_two.set(SCMP_SYS(socket), fail_with(2));
  for (const SeccompPolicy* policy : {&eq_one, &eq_two, &errno_one, &errno_two, &eq_one, &errno_two}) {
    // Cached or not, the program is the one a fresh compile gives.
    EXPECT_TRUE(same_program(compiled_bpf(*policy), SeccompFilter(*policy).export_bpf()));
  }
  EXPECT_FALSE(same_program(compiled_bpf(eq_one), compiled_bpf(eq_two)));
  EXPECT_FALSE(same_program(compiled_bpf(errno_one), compiled_bpf(errno_two)));
}

// Execs argv; returns only when the exec failed.
void exec(std::vector<const char*> argv) {
  argv.push_back(nullptr);
  ::execv(argv[0], const_cast<char* const*>(argv.data()));
}

TEST(ForbidExec, TrapsExecButLeavesOtherSyscallsAlone) {
  EXPECT_EXIT(
      {
        sandbox::forbid_exec();
        if (::getpid() <= 0) _exit(3);  // still allowed
        exec({"/bin/true"});
        _exit(2);  // exec failed without the filter's trap
      },
      ::testing::KilledBySignal(SIGSYS), "");
  // Without it the same kind of exec succeeds.
  EXPECT_EXIT(
      {
        exec({"/bin/sh", "-c", "exit 7"});
        _exit(2);
      },
      ::testing::ExitedWithCode(7), "");
}

TEST(SyscallName, NamesKnownAndUnknownNumbers) {
  EXPECT_EQ(syscall_name(SCMP_SYS(ptrace)), "ptrace");
  EXPECT_EQ(syscall_name(100000), "syscall_100000");
}

}  // namespace
}  // namespace sandbox
