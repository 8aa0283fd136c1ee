#include "supervisor/stage/stage_steps.hpp"

#include <gtest/gtest.h>

#include <capnp/message.h>

namespace supervisor {
namespace {

using namespace std::chrono_literals;

TEST(StageSteps, ReadsTheReportedSteps) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::StageResult>();
  auto steps = result.initSteps(2);
  steps[0].setName("start");
  steps[0].setMilliseconds(12);
  steps[0].setCpuMilliseconds(3);
  steps[1].setName("install");
  steps[1].setMilliseconds(42000);
  steps[1].setCpuMilliseconds(51000);
  const auto read = reported_steps(result.asReader());
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].name, "start");
  EXPECT_EQ(read[0].wall, 12ms);
  EXPECT_EQ(read[0].cpu, 3ms);
  EXPECT_EQ(read[1].name, "install");
  EXPECT_EQ(read[1].cpu, 51000ms);  // more than wall: children in parallel
}

TEST(StageSteps, LeavesOutWhatNoStageReports) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::StageResult>();
  auto steps = result.initSteps(5);
  steps[0].setName("\x1b[2Jcleared");
  steps[1].setName("");
  steps[2].setName(std::string(41, 'a'));
  steps[3].setName("Upper");
  steps[4].setName("reuse build environment");
  steps[4].setMilliseconds(~0ull);
  const auto read = reported_steps(result.asReader());
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].name, "reuse build environment");
  EXPECT_EQ(read[0].wall, std::chrono::hours(24));
}

TEST(StageSteps, KeepsAtMostTheLimit) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::StageResult>();
  auto steps = result.initSteps(kMaxReportedSteps + 10);
  for (unsigned i = 0; i < steps.size(); ++i) steps[i].setName("step " + std::to_string(i));
  EXPECT_EQ(reported_steps(result.asReader()).size(), kMaxReportedSteps);
}

}  // namespace
}  // namespace supervisor
