// The isomaker stage's boundary: decodes an IsomakerRequest into the plain
// structs of initrd.hpp and iso_layout.hpp, makes the initrd, the ISO or its
// Secure Boot GRUB and encodes what it wrote. Cap'n Proto names stay in this file pair.
//
// Files in outputDir while it runs (all removed on failure):
//   .<outputName>.partial   the initrd, the kernel copy, the ISO or the loader being written
//   .<outputName>.work/     the ISO's tree and boot images, the loader's menu and SBAT
#pragma once

#include <functional>
#include <string>

#include "ipc/stage_main.hpp"
#include "stages/isomaker/initrd.hpp"
#include "stages/isomaker/iso_layout.hpp"
#include "stages/isomaker/isomaker.capnp.h"

namespace stage::isomaker {

// The plain requests; the fds and paths of directories and files are opened
// by run_request.
InitrdSpec decode_initrd_request(ipc::proto::MakeInitrdRequest::Reader request);
// Names a file given by fd slot (opened by the caller; "/proc/self/fd/N").
using SlotOpener = std::function<std::string(ipc::proto::FdRef::Reader ref, const std::string& what)>;
// Without an opener a file given by slot is refused.
IsoSpec decode_iso_request(ipc::proto::MakeIsoRequest::Reader request, const SlotOpener& open_slot = {});
LoaderSpec decode_loader_request(ipc::proto::MakeIsoLoaderRequest::Reader request);

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result);

}  // namespace stage::isomaker
