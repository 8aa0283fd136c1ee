// The disk layout a DiskmakerRequest describes, checked and turned into
// sectors: pure functions, no I/O. The supervisor has already converted the
// template's size strings to bytes; this file only checks them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stages/diskmaker/fs_kind.hpp"

namespace stage::diskmaker {

inline constexpr std::uint64_t kSectorSize = 512;
inline constexpr std::uint64_t kAlignment = 1024 * 1024;  // starts and ends, in bytes
// The backup GPT at the end of the disk: 32 sectors of entries and the header.
inline constexpr std::uint64_t kGptBackupSectors = 33;
inline constexpr std::size_t kMaxGptPartitions = 128;
inline constexpr std::size_t kMaxMbrPartitions = 4;  // primary partitions only

enum class TableType { kGpt, kMbr };

struct PartitionSpec {
  std::string id;
  std::uint32_t index = 0;  // 1-based; 0 = the next free number
  std::string name;         // GPT partition name
  std::string type;         // GPT type GUID or MBR type byte in hex; "" = from fs_type
  std::uint64_t start = 0;  // bytes
  std::uint64_t end = 0;    // bytes, exclusive; 0 = the rest of the disk
  std::string fs_type;      // ext2/3/4, vfat/fat16/fat32, swap/linux-swap, xfs, none/""
  std::string fs_label;
  std::string mount_point;  // "/" , "/boot/efi", ""/"none" = not mounted
  std::vector<std::string> flags;
  std::string fs_uuid;
  std::string part_uuid;    // GPT only
  std::string ext_hash_seed;  // ext: the directory hash seed (a UUID); "" = mke2fs's random one
};

struct DiskLayout {
  TableType table = TableType::kGpt;
  std::uint64_t disk_size = 0;  // bytes
  std::vector<PartitionSpec> partitions;
  std::string disk_id;          // GPT disk GUID; MBR: a UUID, its first 8 hex digits the disk id; "" = random
};

// One partition placed on the disk.
struct PlacedPartition {
  const PartitionSpec* spec = nullptr;
  std::uint32_t number = 0;        // the partition number in the table (1-based)
  std::uint64_t start_sector = 0;
  std::uint64_t size_sectors = 0;

  std::uint64_t offset_bytes() const { return start_sector * kSectorSize; }
  std::uint64_t size_bytes() const { return size_sectors * kSectorSize; }
};

// The last sector a partition may use: before the backup GPT, or the last
// sector of an MBR disk.
std::uint64_t last_usable_sector(TableType table, std::uint64_t disk_size);

// Checks the layout (disk size, order, overlap, bounds, alignment, numbers,
// counts) and places every partition; `end` 0 runs to last_usable_sector.
// Throws base::Error(kInvalidInput) naming the partition id.
std::vector<PlacedPartition> place_partitions(const DiskLayout& layout);

// "" and "none" mean the partition is not mounted.
bool is_mounted(const PartitionSpec& partition);

// The partitions mounted below "/" (not "/" itself), deepest mount point first.
std::vector<const PartitionSpec*> moved_out_order(const DiskLayout& layout);

}  // namespace stage::diskmaker
