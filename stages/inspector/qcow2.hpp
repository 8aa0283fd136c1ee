// A qcow2 image made raw inside the inspector's sandbox: qemu-img reads the
// untrusted image (fd 3) and writes the raw disk to an unlinked temporary
// file of the supervisor's (fd 4). `qemu-img info` and `check` are asked
// first: an image with a backing file, an external data file or encryption
// is refused, so is one cut short or damaged, and its virtual size bounds
// what may be written (RLIMIT_FSIZE).
#pragma once

#include <cstdint>
#include <string>

namespace stage::inspector {

// The largest virtual size converted: a template's disk is at most 4 TiB.
inline constexpr std::uint64_t kMaxVirtualSize = 4ULL << 40;

struct Qcow2Info {
  std::uint64_t virtual_size = 0;
};

// Checks `qemu-img info --output=json` of the image `name`: format qcow2,
// no backing file, no external data file, not encrypted, a virtual size of
// 1 B..kMaxVirtualSize in whole 512-byte sectors. kInvalidInput naming the
// image otherwise.
Qcow2Info checked_qcow2_info(const std::string& info_json, const std::string& name);

// Refuses an image `qemu-img check --output=json` (exit status
// `exit_code`) finds corruptions or errors in: one cut short, damaged tables.
void check_consistency(const std::string& check_json, int exit_code, const std::string& name);

// Converts the qcow2 image `image_fd` to raw into `output_fd` (an empty
// regular file opened read-write): checks it, lowers RLIMIT_FSIZE to its
// virtual size, sizes the output (sparse) and has qemu-img fill in the data.
Qcow2Info convert_qcow2(int image_fd, int output_fd, const std::string& name);

}  // namespace stage::inspector
