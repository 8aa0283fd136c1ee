// grub-mkstandalone stamps every file of the memdisk it builds into the EFI
// binary (the modules, the embedded grub.cfg) with the time it ran, and reads
// no SOURCE_DATE_EPOCH (GRUB 2.06). The memdisk is a plain ustar archive
// inside the binary; its headers' mtimes are set to the build time here, so
// the same build gives the same binary (docs/reproducible-builds.md).
#pragma once

#include <cstdint>
#include <cstddef>
#include <string>

namespace stage::installer {

// Every ustar header in `image` (512 bytes with the "ustar" magic at 257 whose
// checksum is right) gets `time` as its mtime and its checksum made again.
// Returns how many headers were changed. Throws base::Error(kInvalidInput) for
// a time the 11 octal digits of a header cannot hold.
std::size_t set_tar_header_times(std::string& image, std::int64_t time);

// The file `path` of the tree under `root` (no link followed) with its tar
// headers' times set; throws base::Error naming it when it has none.
void settle_grub_memdisk_times(const std::string& root, const std::string& path, std::int64_t time);

}  // namespace stage::installer
