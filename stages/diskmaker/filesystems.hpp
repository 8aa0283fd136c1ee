// Making each partition's file system straight inside the disk file, at the
// partition's offset: no loop device, no mount. mkfs.ext4 -d fills ext2/3/4
// from a directory; FAT gets mkfs.vfat --offset and then mcopy; swap is made
// in a scratch file (util-linux 2.38's mkswap has no offset) and its written
// blocks copied in. xfs is refused: mkfs.xfs cannot fill a file system from a
// directory with owners and xattrs without root.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stages/diskmaker/layout.hpp"

namespace stage::diskmaker {

// The mkfs.ext4 "-O" feature list for ext2, ext3 or ext4.
std::string ext_features(std::string_view fs_type);

// `fs_uuid` as the identifier each file system stores: a UUID for ext and
// swap, "XXXX-XXXX" for FAT (from "XXXX-XXXX", 8 hex digits or the first 8
// hex digits of a UUID). Throws base::Error(kInvalidInput) naming the partition.
std::string written_fs_uuid(const PartitionSpec& partition);

// argv of mkfs.ext4 for `partition` inside `disk`, filled from `source_dir`
// when given.
std::vector<std::string> ext_mkfs_argv(const PlacedPartition& partition, const std::string& disk,
                                       const std::optional<std::string>& source_dir);
// argv of mkfs.vfat for `partition` inside `disk`.
std::vector<std::string> vfat_mkfs_argv(const PlacedPartition& partition, const std::string& disk);
// argv of mcopy copying `entries` (paths) to the root of the FAT file system.
std::vector<std::string> mcopy_argv(const PlacedPartition& partition, const std::string& disk,
                                    const std::vector<std::string>& entries);

// Where a file system's contents come from and where it goes. Paths are as
// the tools see them (/proc/self/fd/N/...); the fds are inherited by them.
struct FsTarget {
  std::string disk_path;
  int disk_fd = -1;
  std::optional<std::string> source_dir;  // the partition's files; nullopt = empty
  int source_fd = -1;                     // the same directory, for listing
  std::string scratch_dir;                // a writable directory for scratch files
  int scratch_fd = -1;
  std::vector<int> inherit_fds;
};

// Makes the file system of `partition`; a partition without one is left as is.
void make_filesystem(const PlacedPartition& partition, const FsTarget& target);

// Copies the data extents of `src` (its first `size` bytes) to `dst` at
// `offset`, leaving holes as holes.
void copy_data_extents(int src, int dst, std::uint64_t offset, std::uint64_t size);

}  // namespace stage::diskmaker
