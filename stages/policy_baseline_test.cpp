// What every stage's sandbox holds to, once per row of the stage table: the
// baseline decisions, a probe confined by the whole spec, and death by
// SIGSYS on ptrace and mount under the real filter. What one stage alone may
// or may not do is tested in stages/<name>/policy_test.cpp.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/ptrace.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "ipc/stage_kind.hpp"
#include "sandbox/testing/probe_run.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace {

using ipc::proto::StageKind;
using sandbox::fail_with;
using sandbox::kAllowed;
using sandbox::kTrapped;

class EveryStagePolicy : public ::testing::TestWithParam<StageKind> {
 protected:
  sandbox::StagePolicy policy() const { return supervisor::stage_info(GetParam()).policy(); }
};

TEST_P(EveryStagePolicy, DecidesTheBaselineSyscallsAsDeclared) {
  sandbox::testing::expect_decisions(policy(), {
      {"every stage reads", SCMP_SYS(read), kAllowed},
      {"always forbidden", SCMP_SYS(ptrace), kTrapped},
      {"always forbidden, also for the installer", SCMP_SYS(mount), kTrapped},
      {"always forbidden", SCMP_SYS(init_module), kTrapped},
      {"always forbidden", SCMP_SYS(setns), kTrapped},
      {"libc falls back to clone", SCMP_SYS(clone3), fail_with(ENOSYS)},
      {"never with namespace flags", SCMP_SYS(unshare), std::nullopt},
  });
}

TEST_P(EveryStagePolicy, ConfinesAProbeInItsSandbox) { sandbox::testing::expect_confined(policy()); }

TEST_P(EveryStagePolicy, KillsOnPtrace) {
  const sandbox::StagePolicy stage = policy();
  EXPECT_EXIT((sandbox::testing::load_filter(stage), ptrace(PTRACE_ATTACH, -1, nullptr, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

TEST_P(EveryStagePolicy, KillsOnMount) {
  const sandbox::StagePolicy stage = policy();
  EXPECT_EXIT((sandbox::testing::load_filter(stage), mount(nullptr, nullptr, nullptr, 0, nullptr)),
              ::testing::KilledBySignal(SIGSYS), "");
}

// Every kind the schema knows, named as the stage table names it
// (StageTable/EveryStagePolicy.KillsOnMount/fetcher).
INSTANTIATE_TEST_SUITE_P(StageTable, EveryStagePolicy, ::testing::ValuesIn(ipc::kAllStageKinds),
                         [](const ::testing::TestParamInfo<StageKind>& info) {
                           return std::string(supervisor::stage_info(info.param).name);
                         });

}  // namespace
