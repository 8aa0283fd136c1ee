// What a file given to `boot` is, from its bytes: an ISO 9660 image, an
// initrd (a cpio archive, possibly compressed) or a disk image. The name is
// not trusted: `.img` is used for both initrds and disks.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "base/unique_fd.hpp"

namespace supervisor {

enum class MediaKind { kDisk, kIso, kInitrd };

std::string_view to_string(MediaKind kind);

struct MediaProbe {
  MediaKind kind = MediaKind::kDisk;
  // kInitrd: what wraps the cpio archive ("none" when the file starts with
  // the cpio header). A compressed disk image carries the same magic bytes.
  std::string_view compression = "none";
};

// A file given to `boot`, open for probing.
struct OpenImage {
  base::UniqueFd fd;
  off_t size = 0;
};

// Opens `file` read-only. Throws base::Error kInvalidInput naming it (as
// `what`: "image", "kernel") when it is missing, not a regular file or block
// device, or empty.
OpenImage open_image(const std::filesystem::path& file, std::string_view what = "image");

// Up to `size` bytes at `offset` (fewer at the end of the file).
std::string read_image_at(const OpenImage& image, std::size_t size, off_t offset, const std::filesystem::path& file);

// Bytes probe_media wants: enough to reach the ISO 9660 volume descriptor.
inline constexpr std::size_t kMediaHeadBytes = 0x8800;

// Classifies the first bytes of a file: "CD001" at 0x8001 is ISO 9660; a
// cpio header (newc, crc, odc or binary) or gzip, zstd, xz, lz4, bzip2 or
// lzma data is an initrd; anything else is a disk image.
MediaProbe probe_media(std::string_view head);

// Opens the file (open_image) and probes its first bytes.
MediaProbe detect_media(const std::filesystem::path& file);

// Throws base::Error kInvalidInput unless `kernel` is a readable x86 Linux
// boot image (the "HdrS" signature at 0x202 that QEMU's -kernel loads).
void require_linux_kernel(const std::filesystem::path& kernel);

}  // namespace supervisor
