// stage-signer: makes and checks OpenPGP signatures offline; the only stage
// that is given a private key.
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"
#include "stages/signer/signer_stage.hpp"

int main(int argc, char** argv) {
  // The report goes to stderr, which the supervisor reads.
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::SIGNER, stage::signer::run_request,
                        [](int) { sandbox::install_sigsys_reporter(2); });
}
