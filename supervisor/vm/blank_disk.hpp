// The blank disk `boot X.iso --disk N` gives the VM: a sparse qcow2 file
// made by qemu-img, in the VM's scratch directory or where --keep-disk says.
#pragma once

#include <filesystem>

namespace supervisor {

inline constexpr int kMaxDiskGib = 65536;

// Creates a blank qcow2 disk of `gib` GiB at `path` with `qemu_img`. Throws
// base::Error kInvalidInput when `path` already exists (nothing is
// overwritten) or `gib` is out of 1..kMaxDiskGib, kFailed with qemu-img's
// message when it fails.
void create_blank_disk(const std::filesystem::path& qemu_img, const std::filesystem::path& path, int gib);

}  // namespace supervisor
