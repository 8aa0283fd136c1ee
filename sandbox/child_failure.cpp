#include "sandbox/child_failure.hpp"

#include <cstring>

namespace sandbox {

int record_failure(ChildFailure& failure, int error, const char* step, const char* object) noexcept {
  failure.error = error;
  std::strncpy(failure.step, step, sizeof(failure.step) - 1);
  std::strncpy(failure.object, object, sizeof(failure.object) - 1);
  return -error;
}

}  // namespace sandbox
