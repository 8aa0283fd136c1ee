// stage-fetcher: downloads files into the output directory it is handed.
#include "ipc/stage_main.hpp"
#include "stages/fetcher/policy.hpp"
#include "stages/fetcher/fetcher_stage.hpp"

int main(int argc, char** argv) {
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::FETCHER, stage::fetcher::run_request,
                        stage::fetcher::confine_running_stage);
}
