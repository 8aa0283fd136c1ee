// Moves a GPT's backup header to the end of a larger disk and grows one
// partition to the new last usable sector, keeping its type, GUID
// (PARTUUID), attributes and name. Done in-process (CRC32 from zlib) so the
// live environment needs neither sgdisk nor sfdisk: see docs/live-installer.md.
#pragma once

#include <cstdint>
#include <string>

namespace live {

struct GrownPartition {
  std::uint64_t first_lba = 0;
  std::uint64_t old_last_lba = 0;
  std::uint64_t new_last_lba = 0;
};

// `fd` is the disk (or a file standing in for one) of `disk_bytes` bytes with
// 512-byte sectors. Throws base::Error naming `disk_name` when the table is
// not a valid GPT, the partition does not exist or is not the last one on the
// disk, or the disk is smaller than the table says.
GrownPartition grow_gpt_partition(int fd, std::uint64_t disk_bytes, unsigned partition, const std::string& disk_name);

// The logical sector size of a block device (512 for a regular file).
unsigned logical_sector_size(int fd);

}  // namespace live
