#include "supervisor/stage_table.hpp"

#include "stages/diskmaker/policy.hpp"
#include "stages/fetcher/policy.hpp"
#include "stages/installer/policy.hpp"
#include "stages/resolver/policy.hpp"
#include "stages/verifier/policy.hpp"

namespace supervisor {

using namespace std::chrono_literals;

StageInfo stage_info(ipc::proto::StageKind kind) {
  using K = ipc::proto::StageKind;
  switch (kind) {
    case K::FETCHER: return {"fetcher", "stage-fetcher", 3600s, stage::fetcher::fetcher_policy};
    case K::VERIFIER: return {"verifier", "stage-verifier", 1800s, stage::verifier::verifier_policy};
    case K::RESOLVER: return {"resolver", "stage-resolver", 600s, stage::resolver::resolver_policy};
    case K::INSTALLER: return {"installer", "stage-installer", 7200s, stage::installer::installer_policy};
    case K::DISKMAKER: return {"diskmaker", "stage-diskmaker", 3600s, stage::diskmaker::diskmaker_policy};
  }
  throw ipc::Error(ipc::ErrorKind::kFailed, "unknown stage kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace supervisor
