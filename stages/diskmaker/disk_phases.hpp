// The stage's side of the two-run disk (diskmaker.capnp's Phase, used for
// Secure Boot): what phase partitions leaves for the supervisor and what
// phase finish makes of it. The copies themselves: esp_phase.hpp.
#pragma once

#include <vector>

#include "base/unique_fd.hpp"
#include "stages/diskmaker/artifacts.hpp"
#include "stages/diskmaker/diskmaker_stage.hpp"
#include "stages/diskmaker/tree_split.hpp"

namespace stage::diskmaker {

// Both runs must agree on every id: a split run needs each fsUuid and
// partUuid given. Throws base::Error(kInvalidInput) naming the partition.
void check_ids_given(const DiskRequest& disk);

// Phase partitions: each FAT partition's files, moved out by `split` into
// `work_fd`, copied to <out_fd>/.<outputName>.esp/<id>/.
void export_fat_trees(const DiskRequest& disk, const std::vector<PlacedPartition>& placed, const TreeSplit& split,
                      int out_fd, int work_fd);

// Phase finish: the partial disk the first run left (added to `temps`),
// its FAT partitions made from the copies. Returns the disk's fd.
base::UniqueFd finish_fat_partitions(const DiskRequest& disk, const std::vector<PlacedPartition>& placed,
                                     int root_fd, int out_fd, TempFiles& temps);

}  // namespace stage::diskmaker
