// stage-installer: builds the root tree of an image from package files, in
// its user namespace, running the target's dpkg chrooted into the tree.
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"
#include "stages/installer/installer_stage.hpp"

int main(int argc, char** argv) {
  return ipc::run_stage(argc, argv, ipc::proto::StageKind::INSTALLER, stage::installer::run_request,
                        [](int fd) { sandbox::install_sigsys_reporter(fd); });
}
