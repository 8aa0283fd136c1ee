// Placeholder until the build orchestrator lands: the CLI front end is
// complete, the pipeline behind it is not.
#include "supervisor/build.hpp"

#include "ipc/error.hpp"

namespace supervisor {

int run_build(const BuildRequest& /*request*/, Logger& /*log*/) {
  throw ipc::Error(ipc::ErrorKind::kUnimplemented, "image building is not available in this build yet");
}

int run_lock(const LockRequest& /*request*/, Logger& /*log*/) {
  throw ipc::Error(ipc::ErrorKind::kUnimplemented, "image building is not available in this build yet");
}

}  // namespace supervisor
