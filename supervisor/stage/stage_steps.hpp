// The steps a stage reported in StageResult.steps (ipc/step_clock.hpp), read
// for the timing table. The list comes from the stage, so it is untrusted:
// at most kMaxReportedSteps entries, names of lowercase letters, digits,
// spaces, '-' and '.' up to 40 characters; anything else is left out.
#pragma once

#include <cstddef>
#include <vector>

#include "ipc/stage.capnp.h"
#include "ipc/step_clock.hpp"

namespace supervisor {

inline constexpr std::size_t kMaxReportedSteps = 32;

std::vector<ipc::StepTime> reported_steps(ipc::proto::StageResult::Reader result);

}  // namespace supervisor
