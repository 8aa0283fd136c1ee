// stage-inspector: reads an untrusted disk image (read-only fd) with sfdisk,
// blkid and debugfs and reports its partitions, file systems and root file
// system's os-release, packages, users and groups.
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"
#include "stages/inspector/inspector_stage.hpp"

int main(int argc, char** argv) {
  // The report goes to stderr, which the supervisor reads.
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::INSPECTOR, stage::inspector::run_request,
                        [](int) { sandbox::install_sigsys_reporter(2); });
}
