// The resolver reads package indexes and computes the install set: plain
// file IO and memory. It execs nothing, opens no sockets (its result goes
// back over the stage socket it inherits) and keeps no capabilities.
#include "stages/resolver/policy.hpp"

#include <sys/resource.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/seccomp.hpp"

namespace stage::resolver {

sandbox::StagePolicy resolver_policy() {
  sandbox::StagePolicy policy{"resolver", sandbox::baseline_policy()};
  policy.rlimits.push_back({RLIMIT_AS, 8ULL << 30, 8ULL << 30});
  // It writes no file; its result goes over the stage socket.
  policy.rlimits.push_back({RLIMIT_FSIZE, 1ULL << 30, 1ULL << 30});
  return policy;
}

void confine_running_stage(int report_fd) {
  sandbox::install_sigsys_reporter(report_fd);
  sandbox::forbid_exec();
}

std::vector<sandbox::HostProgram> resolver_host_programs(const sandbox::ImageFeatures&) { return {}; }

}  // namespace stage::resolver
