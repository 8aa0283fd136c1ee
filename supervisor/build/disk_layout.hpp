// The merged template's disk as the disk maker's partition table, with the
// identifiers chosen up front (docs/image-build.md): a file system UUID per
// partition, a GPT partition UUID and disk GUID, an ext directory hash seed
// (a build derives them all from its seed, reproducible.hpp), the /etc/fstab
// lines the installer writes, and which file systems hold /, /boot and the ESP.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/template.hpp"

namespace supervisor {

inline constexpr std::uint64_t kPartitionAlignment = std::uint64_t{1} << 20;  // 1 MiB

struct PlannedPartition {
  std::string id;
  std::uint32_t index = 0;   // 1-based
  std::string name;          // GPT partition name
  std::string type;          // GPT type GUID, or the MBR type byte in hex
  std::uint64_t start = 0;   // bytes
  std::uint64_t end = 0;     // bytes; 0 = to the end of the disk
  std::string fs_type;       // ext2 ext3 ext4 xfs fat16 fat32 vfat swap none
  std::string fs_label;
  std::string mount_point;   // "" when not mounted
  std::string mount_options;
  std::vector<std::string> flags;
  std::string fs_uuid;       // "XXXX-XXXX" for FAT (a volume id), else a UUID
  std::string part_uuid;     // GPT only
  std::string ext_hash_seed;  // ext2/3/4: the directory hash seed (a UUID), else ""
  bool operator==(const PlannedPartition&) const = default;
};

struct FstabLine {
  std::string spec;         // UUID=...
  std::string mount_point;  // "none" for swap
  std::string fs_type;      // as mount(8) knows it: vfat, ext4, swap
  std::string options;
  std::uint8_t dump = 0;
  std::uint8_t pass = 0;
  bool operator==(const FstabLine&) const = default;
};

// A read-only root on dm-verity (immutability.enabled): "/" is the data,
// the template's hash partition (id roothashmap or hash, or an unmounted
// partition of type linux) gets the hash tree and no file system.
struct VerityPlan {
  std::string data_id;
  std::string hash_id;
  std::string data_part_uuid;
  std::string hash_part_uuid;
  bool operator==(const VerityPlan&) const = default;
};

struct DiskLayout {
  bool gpt = true;
  std::uint64_t disk_size = 0;  // bytes
  std::vector<PlannedPartition> partitions;
  std::vector<FstabLine> fstab;  // parents before children
  std::string root_fs_uuid;
  std::string boot_fs_uuid;      // of the file system holding /boot; "" = the root's
  std::string esp_mount_point;   // of the partition with type or flag esp; "" = none
  std::string esp_fs_uuid;       // its FAT volume id ("ABCD-1234"); "" = none
  std::optional<VerityPlan> verity;
  std::string disk_id;  // the GPT disk GUID; MBR: its first 8 hex digits are the disk identifier
};

// A version 4 UUID from /dev/urandom, lower-case 8-4-4-4-12.
std::string random_uuid();

// 16 bytes as a version 4 UUID (its version and variant bits set), lower-case
// 8-4-4-4-12: what random_uuid and a derived UUID (reproducible.hpp) print.
std::string uuid_v4_text(std::span<const unsigned char, 16> bytes);

// The UUID of one label: "fs-uuid:<partition id>", "part-uuid:<id>",
// "ext-hash-seed:<id>", "disk-id". A build derives them (derived_uuids,
// reproducible.hpp); random_uuids() ignores the label.
using UuidSource = std::function<std::string(std::string_view label)>;
UuidSource random_uuids();

// Throws base::Error(kInvalidInput) for a disk the disk maker cannot make:
// no size, no "/" partition, a start or end off the 1 MiB grid, a partition
// past the end of the disk, an unknown type or file system.
DiskLayout plan_disk_layout(const config::Disk& disk, const UuidSource& uuids = random_uuids());

// Makes `layout` (planned from `disk`) a dm-verity root: the hash
// partition loses its file system, "/" is mounted read-only. Throws
// base::Error(kInvalidInput) without a GPT table or a hash partition.
void plan_verity(DiskLayout& layout, const config::Disk& disk);

// The FAT volume id for a UUID: its first 8 hex digits as "XXXX-XXXX", the
// form blkid reports and fstab's UUID= matches.
std::string fat_volume_id(const std::string& uuid);

}  // namespace supervisor
