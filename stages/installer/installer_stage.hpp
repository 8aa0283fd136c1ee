// The installer stage's boundary: decodes an InstallerRequest, builds the
// tree (bootstrap or a reused build environment, OS configuration,
// initramfs, boot loader files, SBOM) and encodes the InstallerResult.
// Reads: the package files and additional files it is handed. Writes: the
// tree, the build environment directory (save mode), the SBOM in outputDir.
// Execs: the target's dpkg, maintainer scripts and tools chrooted into the
// tree; the host's cp for build environments. Network: none.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ipc/stage_main.hpp"
#include "stages/installer/installer.capnp.h"
#include "base/unique_fd.hpp"

namespace stage::installer {

// A directory the stage was handed, with a path that reaches it inside the
// stage (and so sees the mounts the launcher made under it).
struct OpenDir {
  base::UniqueFd fd;
  std::filesystem::path path;
};

// The path of the directory open at `fd`: the one /proc/self/fd names when it
// leads to the same directory, else /proc/self/fd/N itself.
std::filesystem::path directory_path(int fd);

// The ipc::Handler of stage-installer.
void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result);

}  // namespace stage::installer
