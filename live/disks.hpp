// The machine's disks as the kernel lists them in sysfs (/sys/block), and the
// disk that holds the install medium, which is never offered as a target.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace live {

struct DiskEntry {
  std::string name;         // "vda", "nvme0n1"
  std::uint64_t size = 0;   // bytes
  std::string model;        // "" when the kernel gives none
};

// "MAJ:MIN" as sysfs writes it in a "dev" file.
std::string devnum_text(dev_t dev);

// The whole disk (its /sys/block name) that device `dev` is, or is a
// partition of; nullopt when no disk under `sys_block` has it.
std::optional<std::string> disk_holding(dev_t dev, const std::filesystem::path& sys_block);

// Disks under `sys_block` that can take an installation: not loop, ram, zram,
// optical (sr) or device-mapper devices, not empty, not `skip` (the medium's).
std::vector<DiskEntry> installable_disks(const std::filesystem::path& sys_block, const std::string& skip);

// "12.0 GiB" style text for a byte count.
std::string human_size(std::uint64_t bytes);

}  // namespace live
