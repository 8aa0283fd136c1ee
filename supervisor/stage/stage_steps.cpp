#include "supervisor/stage/stage_steps.hpp"

#include <algorithm>
#include <string_view>

#include <kj/exception.h>

namespace supervisor {
namespace {

bool is_step_name(std::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' || c == '-' || c == '.';
  });
}

// A day: more is no stage's step, only a stage's lie.
constexpr std::uint64_t kLongestStepMs = 24ull * 3600 * 1000;

}  // namespace

std::vector<ipc::StepTime> reported_steps(ipc::proto::StageResult::Reader result) {
  std::vector<ipc::StepTime> steps;
  try {
    for (auto step : result.getSteps()) {
      if (steps.size() == kMaxReportedSteps) break;
      const std::string_view name(step.getName().cStr(), step.getName().size());
      if (!is_step_name(name)) continue;
      steps.push_back({std::string(name), std::chrono::milliseconds(std::min(step.getMilliseconds(), kLongestStepMs)),
                       std::chrono::milliseconds(std::min(step.getCpuMilliseconds(), kLongestStepMs))});
    }
  } catch (const kj::Exception&) {
    // A list the message cannot hold: the table goes without the stage's steps.
    return {};
  }
  return steps;
}

}  // namespace supervisor
