// stage-isomaker: an initrd (newc cpio, libarchive) from a root tree, or a
// hybrid ISO with xorriso, mtools and the live tree's own grub-mkimage.
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"
#include "stages/isomaker/isomaker_stage.hpp"

int main(int argc, char** argv) {
  // The report goes to stderr, which the supervisor reads.
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::ISOMAKER, stage::isomaker::run_request,
                        [](int) { sandbox::install_sigsys_reporter(2); });
}
