// Decompression of repository index texts (Debian's Packages, RPM's primary
// and filelists) with a bound on what comes out. An index is small when
// compressed and may be served by anyone between the mirror and the host
// (emt3 publishes an unsigned repomd.xml), so a few KiB that expand to many
// GiB must be stopped while they expand, not after.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stages/verifier/checksums.hpp"

namespace stage::verifier {

// The most any index text may be once decompressed, whatever its metadata
// lists: far above real ones (Debian's largest Packages ~100 MB, a large RPM
// filelists ~1 GB), far below the verifier's address space and file size
// limits (policy.cpp).
inline constexpr std::uint64_t kMaxIndexTextBytes = 2ULL << 30;  // 2 GiB

// A bound on a decompressed text and what set it, for the message.
struct TextLimit {
  std::uint64_t bytes = kMaxIndexTextBytes;
  std::string reason = "the " + std::to_string(kMaxIndexTextBytes) + " bytes (2 GiB) any index text may be at most";
};

// Decompresses `compressed` (xz, gzip, zstd, bzip2, lzma: libarchive's
// filters; anything else passes through as it is) into `sink` (64 KiB at a time), and fails
// (kInvalidInput) as soon as the text passes `limit`: the sink never gets
// more than one chunk past it. `name` names the file in every message.
void decompress_bounded(std::string_view compressed, std::string_view name, const TextLimit& limit,
                        const ChunkSink& sink);

}  // namespace stage::verifier
