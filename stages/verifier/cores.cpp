#include "stages/verifier/cores.hpp"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace stage::verifier {

unsigned usable_cores() {
  // The affinity mask, not /sys (which a stage's sandbox does not mount).
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
    return static_cast<unsigned>(CPU_COUNT(&set));
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

}  // namespace stage::verifier
