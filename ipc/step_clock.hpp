// Where a stage's time goes: wall and CPU time per progress phase. The
// harness (stage_main.hpp) enters a step whenever the handler reports a new
// phase and writes the steps into StageResult.steps, so every stage's
// existing phases (unpack, configure, initramfs, mkfs, ...) are measured
// without code of their own.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/stage.capnp.h"

namespace ipc {

struct StepTime {
  std::string name;
  std::chrono::milliseconds wall{0};
  std::chrono::milliseconds cpu{0};
};

class StepClock {
 public:
  // Starts the clock; time until the first enter() is the step "start".
  StepClock();

  // Ends the current step and starts `name` (no-op when it is the current one).
  void enter(std::string_view name);
  // Ends the current step; the steps so far, in the order first entered.
  std::vector<StepTime> finish();

  void write(proto::StageResult::Builder result);

 private:
  struct Mark {
    std::chrono::steady_clock::time_point wall;
    std::chrono::microseconds cpu;
  };
  static Mark now();
  void close_current();

  std::vector<StepTime> steps_;
  std::string current_ = "start";
  Mark started_;
};

// User + system time of this process and the children it waited for.
std::chrono::microseconds process_cpu_time();

// User + system time of one getrusage/wait4 record.
std::chrono::microseconds cpu_time_of(const struct rusage& usage);

}  // namespace ipc
