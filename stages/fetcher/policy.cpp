// The fetcher downloads repository metadata and packages: the only stage with
// the host network. It runs no package code and execs nothing.
#include "stages/fetcher/policy.hpp"

#include <sys/resource.h>

#include "sandbox/baseline_policy.hpp"
#include "sandbox/seccomp.hpp"
#include "sandbox/syscall_sets.hpp"

namespace stage::fetcher {

sandbox::StagePolicy fetcher_policy() {
  namespace sc = sandbox::syscalls;
  sandbox::SeccompPolicy seccomp = sandbox::baseline_policy();
  seccomp.allow(sc::filesystem_write());  // downloads land in the output directory
  // TCP to the mirror and the AF_UNIX socketpair libcurl's threaded resolver
  // uses to wake its event loop; nothing that names a unix socket, since
  // this stage shares the host's network namespace and so its abstract
  // sockets. Without bind() getaddrinfo(AI_ADDRCONFIG) cannot ask netlink
  // which address families are configured and tries both.
  sc::allow_host_network_sockets(seccomp);

  sandbox::StagePolicy policy{"fetcher", std::move(seccomp)};
  policy.network = true;
  // Name resolution and TLS trust, when the host has them.
  for (const char* path : {"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf",
                           "/etc/ssl/certs"}) {
    policy.mounts.push_back({sandbox::MountKind::kBindRo, path, path, {}, true});
  }
  policy.rlimits.push_back({RLIMIT_AS, 8ULL << 30, 8ULL << 30});
  // The largest file it writes is one package; the biggest in Debian are ~1.5 GB.
  policy.rlimits.push_back({RLIMIT_FSIZE, 4ULL << 30, 4ULL << 30});
  return policy;
}

void confine_running_stage(int report_fd) {
  sandbox::install_sigsys_reporter(report_fd);
  sandbox::forbid_exec();
}

std::vector<sandbox::HostProgram> fetcher_host_programs(const sandbox::ImageFeatures&) { return {}; }

}  // namespace stage::fetcher
