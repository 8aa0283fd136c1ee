#include "stages/diskmaker/fs_kind.hpp"

#include <string>

#include "base/error.hpp"

namespace stage::diskmaker {

FsKind fs_kind(std::string_view fs_type, std::string_view partition_id) {
  if (fs_type.empty() || fs_type == "none") return FsKind::kNone;
  if (fs_type == "ext4" || fs_type == "ext3" || fs_type == "ext2") return FsKind::kExt;
  if (fs_type == "vfat" || fs_type == "fat32" || fs_type == "fat16") return FsKind::kVfat;
  if (fs_type == "swap" || fs_type == "linux-swap") return FsKind::kSwap;
  if (fs_type == "xfs") return FsKind::kXfs;
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "Failed to accept partition '" + std::string(partition_id) + "': unknown fsType '" +
                       std::string(fs_type) + "' (known: ext2, ext3, ext4, vfat, fat16, fat32, swap, xfs, none)");
}

}  // namespace stage::diskmaker
