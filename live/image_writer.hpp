// Writes the medium's gzip-compressed raw image onto the target disk and
// proves it landed: the compressed file is hashed as it is read, the raw
// bytes as they are written, and after fsync the written bytes are read back
// from the disk and hashed again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "live/manifest.hpp"

namespace live {

// Called after every chunk written: bytes written so far, bytes in all.
using Progress = std::function<void(std::uint64_t written, std::uint64_t total)>;

// Streams image.path through zlib into `disk_fd` from offset 0, then fsyncs.
// Throws when the compressed file's size or SHA-256, or the raw size or
// SHA-256, differ from the manifest, or the gzip stream is corrupt; the disk's
// first and last MiB written are then zeroed so a half-checked image never
// boots. `disk_name` names the disk in messages.
void write_image(const ImageEntry& image, int disk_fd, const std::string& disk_name, const Progress& progress);

// Reads the first image.raw_size bytes of `disk_fd` back from the device (the
// page cache dropped first) and throws unless their SHA-256 is image.raw_sha256.
void verify_written_image(const ImageEntry& image, int disk_fd, const std::string& disk_name);

}  // namespace live
