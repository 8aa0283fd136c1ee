// How the launcher's child reports a failed setup step to the parent: a
// fixed-size record written to a close-on-exec pipe (no allocation after fork).
#pragma once

#include <cstddef>

namespace sandbox {

struct ChildFailure {
  int error = 0;       // errno
  char step[96] = {};  // "bind-mount", "load seccomp filter", ...
  char object[160] = {};
};

// Fills `failure` (truncating) and returns -error for convenient returns.
int record_failure(ChildFailure& failure, int error, const char* step,
                   const char* object = "") noexcept;

}  // namespace sandbox
