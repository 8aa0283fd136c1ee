// stage-resolver: chooses the packages of an image and their installation
// order from the Packages indexes it is handed (no network, no writes).
#include "ipc/stage_main.hpp"
#include "stages/resolver/policy.hpp"
#include "stages/resolver/resolver_stage.hpp"

int main(int argc, char** argv) {
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::RESOLVER, stage::resolver::run_request,
                        stage::resolver::confine_running_stage);
}
