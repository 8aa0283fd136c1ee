// Whether a path can take the installation: an existing whole-disk block
// device, not the install medium, at least as large as the raw image.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace live {

struct DiskFacts {
  std::string path;
  bool exists = false;
  bool is_block = false;
  bool is_partition = false;
  std::string disk_name;     // its /sys/block name, "" when not found
  std::uint64_t size = 0;    // bytes
};

// What stat, BLKGETSIZE64 and sysfs (`sys`, normally /sys) say about `path`.
DiskFacts probe_disk(const std::string& path, const std::filesystem::path& sys);

// Why the disk cannot take an image of `raw_size` bytes, or nullopt when it can.
// `medium_disk` is the /sys/block name of the disk holding the install medium.
std::optional<std::string> disk_refusal(const DiskFacts& disk, std::uint64_t raw_size,
                                        const std::optional<std::string>& medium_disk);

// probe_disk + disk_refusal; throws base::Error with the reason.
DiskFacts check_target_disk(const std::string& path, std::uint64_t raw_size,
                            const std::optional<std::string>& medium_disk, const std::filesystem::path& sys);

// The device of partition `number` of `disk`: /dev/vda -> /dev/vda2,
// /dev/nvme0n1 -> /dev/nvme0n1p2 (a "p" when the disk name ends in a digit).
std::string partition_device(const std::string& disk, unsigned number);

}  // namespace live
