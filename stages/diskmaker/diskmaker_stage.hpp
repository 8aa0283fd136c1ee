// The disk maker stage's boundary: decodes a DiskmakerRequest into the plain
// structs of layout.hpp and artifacts.hpp, makes the disk (table, file
// systems, artifacts) and encodes what it wrote. Cap'n Proto names stay in
// this file pair. Only host tools run; nothing from the tree is executed.
//
// Files in outputDir while it runs (all removed on failure):
//   .<outputName>.raw.partial   the disk being made
//   .<outputName>.work/         the subtrees of partitions other than "/"
//   .<final name>.partial       each artifact until every one is complete
//   .<outputName>.esp/<id>/     phase partitions: the FAT partitions' files,
//                               kept with the partial disk for phase finish
//                               (esp_phase.hpp)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ipc/stage_main.hpp"
#include "stages/diskmaker/diskmaker.capnp.h"
#include "stages/diskmaker/artifacts.hpp"
#include "stages/diskmaker/esp_phase.hpp"
#include "stages/diskmaker/layout.hpp"
#include "stages/diskmaker/verity.hpp"

namespace stage::diskmaker {

struct DiskRequest {
  DiskLayout layout;
  std::vector<ArtifactSpec> artifacts;
  std::string output_name;
  std::optional<VeritySpec> verity;  // immutability: a dm-verity root
  DiskPhase phase = DiskPhase::kWhole;
};

// The plain request; the fds of rootDir and outputDir are opened by run_request.
DiskRequest decode_request(ipc::proto::DiskmakerRequest::Reader request);

// Fills missing fsUuid/partUuid with random ones (the result reports them).
void fill_missing_ids(DiskLayout& layout);

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result);

}  // namespace stage::diskmaker
