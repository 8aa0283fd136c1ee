// The one table of stage kinds: name, executable, policy, default timeout
// and the host programs each runs.
// An exhaustive switch, so a stage added to stage.capnp without a row here
// fails to compile (-Wswitch -Werror). Nothing registers itself.
#pragma once

#include <chrono>
#include <string_view>

#include "ipc/stage.capnp.h"
#include "base/error.hpp"
#include "sandbox/host_program.hpp"
#include "sandbox/stage_policy.hpp"

namespace supervisor {

struct StageInfo {
  std::string_view name;            // "fetcher"
  std::string_view binary;          // "stage-fetcher"
  std::chrono::seconds default_timeout;  // of every job of this stage
  sandbox::StagePolicy (*policy)();
  sandbox::HostProgramsOf host_programs;  // declared beside the policy
};

StageInfo stage_info(ipc::proto::StageKind kind);

}  // namespace supervisor
