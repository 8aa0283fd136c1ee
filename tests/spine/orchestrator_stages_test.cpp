// The orchestrator driving real sandboxed processes (the fake
// stage-resolver): a failure cancels what runs and skips what waits, and a
// job starts only after the jobs it comes after.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "supervisor/stage/orchestrator.hpp"

namespace supervisor {
namespace {

using namespace std::chrono_literals;
using ipc::proto::StageKind;

class OrchestratorWithStages : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* fake = std::getenv("OIC_FAKE_STAGE_DIR");
    ASSERT_TRUE(fake != nullptr) << "meson test sets OIC_FAKE_STAGE_DIR";
    ::setenv("OIC_STAGE_DIR", fake, 1);
  }

  // A job for the fake resolver doing `behaviour`; records when it starts
  // and when its result is used.
  StageJob job(const std::string& name, const std::string& behaviour, std::vector<std::string> after = {}) {
    StageJob j{.name = name, .kind = StageKind::RESOLVER, .after = std::move(after)};
    j.prepare = [this, name, behaviour] {
      events_.push_back("start " + name);
      PreparedRequest prepared;
      prepared.init_request().initResolver().setArchitecture(behaviour);
      return prepared;
    };
    j.on_success = [this, name](const StageOutcome&) { events_.push_back("done " + name); };
    return j;
  }

  std::vector<std::string> events_;
  ProgressReporter progress_{ProgressMode::kPlain, stderr};
};

TEST_F(OrchestratorWithStages, StartsAJobOnlyAfterTheOneItComesAfterSucceeded) {
  Orchestrator orchestrator({.max_parallel = 4, .handle_signals = false}, progress_);
  orchestrator.add(job("first", "ok"));
  orchestrator.add(job("second", "ok", {"first"}));
  orchestrator.run();
  EXPECT_EQ(events_, (std::vector<std::string>{"start first", "done first", "start second", "done second"}));
}

// A build runs one orchestrator in steps (packages, then archive checks).
TEST_F(OrchestratorWithStages, JobsAddedAfterARunRunOnTheNextRun) {
  Orchestrator orchestrator({.max_parallel = 2, .handle_signals = false}, progress_);
  orchestrator.add(job("first", "ok"));
  orchestrator.run();
  orchestrator.add(job("second", "ok", {"first"}));
  orchestrator.run();
  EXPECT_EQ(events_, (std::vector<std::string>{"start first", "done first", "start second", "done second"}));
}

// A job whose answer is already known runs no stage and succeeds: the jobs
// after it start, its own prepare and on_success are never called.
TEST_F(OrchestratorWithStages, AJobSettledWithoutAStageLetsTheJobsAfterItRun) {
  Orchestrator orchestrator({.max_parallel = 1, .handle_signals = false}, progress_);
  orchestrator.add(job("first", "ok"));
  StageJob known = job("known", "sigsys", {"first"});  // would fail, were it run
  known.settled_without_stage = [this]() -> std::optional<std::string> {
    events_.push_back("settled known");
    return "kept from an earlier run";
  };
  orchestrator.add(std::move(known));
  StageJob unknown = job("unknown", "ok", {"known"});
  unknown.settled_without_stage = [] { return std::optional<std::string>(); };
  orchestrator.add(std::move(unknown));
  orchestrator.run();
  EXPECT_EQ(events_, (std::vector<std::string>{"start first", "done first", "settled known", "start unknown",
                                               "done unknown"}));
  ASSERT_EQ(orchestrator.timings().size(), 2u) << "no timing for a job that ran no stage";
}

// Deciding may fail (an unreadable record): the job fails, named, and the
// jobs after it do not run.
TEST_F(OrchestratorWithStages, AFailureWhileDecidingFailsTheJob) {
  Orchestrator orchestrator({.max_parallel = 2, .handle_signals = false}, progress_);
  StageJob known = job("known", "ok");
  known.settled_without_stage = []() -> std::optional<std::string> {
    throw base::Error(base::ErrorKind::kInvalidInput, "the record is unreadable");
  };
  orchestrator.add(std::move(known));
  orchestrator.add(job("after", "ok", {"known"}));
  try {
    orchestrator.run();
    ADD_FAILURE() << "expected the job to fail";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.stage(), "known") << e.what();
    EXPECT_NE(std::string(e.what()).find("the record is unreadable"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(events_.empty());
}

// The timing table's CPU and peak memory come from the kernel's accounting
// of the stage's process at its exit; its steps are the stage's phases.
TEST_F(OrchestratorWithStages, TimingsCarryTheStagesCpuTimeAndPeakMemory) {
  Orchestrator orchestrator({.max_parallel = 2, .handle_signals = false}, progress_);
  orchestrator.add(job("burner", "burn"));
  orchestrator.add(job("idle", "ok"));
  orchestrator.run();
  ASSERT_EQ(orchestrator.timings().size(), 2u);
  std::map<std::string, StageTiming> by_name;
  for (const StageTiming& t : orchestrator.timings()) by_name[t.name] = t;
  const StageTiming& burner = by_name["burner"];
  const StageTiming& idle = by_name["idle"];
  ASSERT_TRUE(burner.ok && idle.ok);
  // Bounds that hold on a loaded machine: the spin is counted CPU time, and
  // a single thread's CPU time cannot exceed its wall time.
  EXPECT_GE(burner.usage.cpu, 300ms);
  EXPECT_GE(burner.usage.peak_rss_bytes, 64u << 20);
  ASSERT_EQ(burner.steps.size(), 3u);
  EXPECT_EQ(burner.steps[0].name, "start");
  EXPECT_EQ(burner.steps[1].name, "touch");
  EXPECT_EQ(burner.steps[2].name, "spin");
  EXPECT_GE(burner.steps[2].cpu, 300ms);
  EXPECT_GE(burner.steps[2].wall, 300ms);
  EXPECT_EQ(idle.steps.size(), 1u);  // "start" only: it reported no phase
  EXPECT_LT(idle.usage.cpu, burner.usage.cpu);
  EXPECT_GT(idle.usage.peak_rss_bytes, 0u);
  EXPECT_LT(idle.usage.peak_rss_bytes, 64u << 20);
}

TEST_F(OrchestratorWithStages, RunsNoMoreThanTheLimitAtOnce) {
  Orchestrator orchestrator({.max_parallel = 1, .handle_signals = false}, progress_);
  orchestrator.add(job("a", "ok"));
  orchestrator.add(job("b", "ok"));
  orchestrator.run();
  EXPECT_EQ(events_, (std::vector<std::string>{"start a", "done a", "start b", "done b"}));
}

TEST_F(OrchestratorWithStages, FailureCancelsTheRunningStageAndSkipsItsDependants) {
  Orchestrator orchestrator({.max_parallel = 2, .handle_signals = false}, progress_);
  orchestrator.add(job("sleeper", "hang"));
  orchestrator.add(job("breaker", "sigsys"));
  orchestrator.add(job("after-breaker", "ok", {"breaker"}));
  const auto started = std::chrono::steady_clock::now();
  try {
    orchestrator.run();
    ADD_FAILURE() << "expected the seccomp violation to fail the run";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.stage(), "breaker") << e.what();
    EXPECT_NE(std::string(e.what()).find("ptrace"), std::string::npos) << e.what();
  }
  // The hanging stage was cancelled (then killed after the grace), not
  // waited for until its timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  EXPECT_EQ(events_, (std::vector<std::string>{"start sleeper", "start breaker"}));
  ASSERT_EQ(orchestrator.timings().size(), 2u);
  for (const auto& t : orchestrator.timings()) EXPECT_FALSE(t.ok) << t.name;
}

}  // namespace
}  // namespace supervisor
