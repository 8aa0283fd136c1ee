// stage-verifier: checks Release signatures, index and package hashes offline.
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"
#include "stages/verifier/verifier_stage.hpp"

int main(int argc, char** argv) {
  // The report goes to stderr, which the supervisor reads.
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::VERIFIER, stage::verifier::run_request,
                        [](int) { sandbox::install_sigsys_reporter(2); });
}
