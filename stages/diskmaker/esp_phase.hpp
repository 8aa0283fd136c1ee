// The disk made in two runs for Secure Boot (diskmaker.capnp's Phase): the
// first run leaves the FAT (ESP) partitions unmade and copies their files,
// root hash already in the UKI, to <outputDir>/.<outputName>.esp/<id>/; the
// supervisor signs the EFI binaries there; the second run makes the FAT
// partitions from those directories. Only regular files and directories are
// copied: a FAT file system holds nothing else, and the directory is read
// back by the supervisor, which must find no link there.
#pragma once

#include <string>
#include <vector>

#include "stages/diskmaker/filesystems.hpp"
#include "stages/diskmaker/layout.hpp"

namespace stage::diskmaker {

enum class DiskPhase { kWhole, kPartitions, kFinish };

// ".<outputName>.esp": the directory of the copied ESP trees in outputDir.
std::string esp_dir_name(const std::string& output_name);

// The partitions whose file system a phase makes: kPartitions all but the
// FAT ones, kFinish only those, kWhole every one.
bool phase_makes(DiskPhase phase, const PartitionSpec& partition);

// Copies the tree below `src_dir` into the empty directory `dst_dir`:
// directories, and regular files with their mode and modification time.
// Anything else (a symbolic link, a device, a socket) is refused naming its
// path below `shown`. Nothing is followed.
void copy_plain_tree(int src_dir, int dst_dir, const std::string& shown);

// Makes the directory `<esp dir>/<id>` in `esp_dir_fd` and copies
// `src_dir`, partition `id`'s files, into it.
void export_fat_tree(int src_dir, int esp_dir_fd, const PartitionSpec& partition);

// Makes each FAT partition of `placed` in `target.disk_path` from
// `<esp dir>/<id>` (an absent directory is an error: the first run made one
// for every FAT partition).
void make_fat_from_export(const std::vector<PlacedPartition>& placed, int esp_dir_fd, const FsTarget& target);

}  // namespace stage::diskmaker
