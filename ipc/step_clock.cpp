#include "ipc/step_clock.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace ipc {
namespace {

std::chrono::microseconds time_of(const timeval& t) {
  return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
}

std::chrono::microseconds cpu_of(int who) {
  struct rusage usage {};
  if (::getrusage(who, &usage) != 0) return std::chrono::microseconds(0);
  return cpu_time_of(usage);
}

}  // namespace

std::chrono::microseconds cpu_time_of(const struct rusage& usage) {
  return time_of(usage.ru_utime) + time_of(usage.ru_stime);
}

std::chrono::microseconds process_cpu_time() { return cpu_of(RUSAGE_SELF) + cpu_of(RUSAGE_CHILDREN); }

StepClock::StepClock() : started_(now()) {}

StepClock::Mark StepClock::now() { return {std::chrono::steady_clock::now(), process_cpu_time()}; }

void StepClock::close_current() {
  const Mark end = now();
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(end.wall - started_.wall);
  const auto cpu = std::chrono::duration_cast<std::chrono::milliseconds>(end.cpu - started_.cpu);
  started_ = end;
  auto same = std::find_if(steps_.begin(), steps_.end(), [&](const StepTime& s) { return s.name == current_; });
  if (same == steps_.end()) {
    steps_.push_back({current_, wall, cpu});
  } else {
    same->wall += wall;
    same->cpu += cpu;
  }
}

void StepClock::enter(std::string_view name) {
  if (name == current_) return;
  close_current();
  current_ = name;
}

std::vector<StepTime> StepClock::finish() {
  close_current();
  return steps_;
}

void StepClock::write(proto::StageResult::Builder result) {
  const std::vector<StepTime> steps = finish();
  auto list = result.initSteps(static_cast<unsigned>(steps.size()));
  for (unsigned i = 0; i < steps.size(); ++i) {
    list[i].setName(steps[i].name);
    list[i].setMilliseconds(static_cast<std::uint64_t>(steps[i].wall.count()));
    list[i].setCpuMilliseconds(static_cast<std::uint64_t>(steps[i].cpu.count()));
  }
}

}  // namespace ipc
