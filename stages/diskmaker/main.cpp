// stage-diskmaker: a partitioned disk file and its artifacts from a root tree,
// with host tools only (sfdisk, mkfs.ext4 -d, mkfs.vfat + mcopy, mkswap, qemu-img).
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"
#include "stages/diskmaker/diskmaker_stage.hpp"

int main(int argc, char** argv) {
  // The report goes to stderr, which the supervisor reads.
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::DISKMAKER, stage::diskmaker::run_request,
                        [](int) { sandbox::install_sigsys_reporter(2); });
}
