#include "supervisor/stage/stage_table.hpp"

#include "stages/diskmaker/policy.hpp"
#include "stages/fetcher/policy.hpp"
#include "stages/inspector/policy.hpp"
#include "stages/installer/policy.hpp"
#include "stages/isomaker/policy.hpp"
#include "stages/resolver/policy.hpp"
#include "stages/signer/policy.hpp"
#include "stages/verifier/policy.hpp"

namespace supervisor {

using namespace std::chrono_literals;

// Timeouts bound each job of the stage: the longest work it is given (a
// batch of package downloads, a batch of archive checks, an install of the
// whole package set, a compressed disk of several GiB) with room to spare.
StageInfo stage_info(ipc::proto::StageKind kind) {
  using K = ipc::proto::StageKind;
  namespace s = stage;
  switch (kind) {
    case K::FETCHER:
      return {"fetcher", "stage-fetcher", 3600s, s::fetcher::fetcher_policy, s::fetcher::fetcher_host_programs};
    case K::VERIFIER:
      return {"verifier", "stage-verifier", 1800s, s::verifier::verifier_policy, s::verifier::verifier_host_programs};
    case K::RESOLVER:
      return {"resolver", "stage-resolver", 600s, s::resolver::resolver_policy, s::resolver::resolver_host_programs};
    case K::INSTALLER:
      return {"installer", "stage-installer", 7200s, s::installer::installer_policy,
              s::installer::installer_host_programs};
    case K::DISKMAKER:
      return {"diskmaker", "stage-diskmaker", 3600s, s::diskmaker::diskmaker_policy,
              s::diskmaker::diskmaker_host_programs};
    case K::ISOMAKER:
      return {"isomaker", "stage-isomaker", 3600s, s::isomaker::isomaker_policy, s::isomaker::isomaker_host_programs};
    case K::SIGNER:
      return {"signer", "stage-signer", 300s, s::signer::signer_policy, s::signer::signer_host_programs};
    case K::INSPECTOR:
      return {"inspector", "stage-inspector", 600s, s::inspector::inspector_policy,
              s::inspector::inspector_host_programs};
  }
  throw base::Error(base::ErrorKind::kFailed, "unknown stage kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace supervisor
