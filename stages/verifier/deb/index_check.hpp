// SHA-256 + size checks along Debian's chain of trust: Release → Packages
// index → .deb (the last link is checksums.hpp's check_package). Every
// mismatch names the file, the repository and both hashes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/verifier/checksums.hpp"
#include "stages/verifier/deb/release.hpp"
#include "stages/verifier/index_decompress.hpp"

namespace stage::verifier {

// Every entry must have Package, Version, Architecture, Filename, Size and
// SHA256.
std::vector<PackageRecord> parse_packages(std::string_view text, std::string_view origin);

// `index_path` is relative to dists/<suite>/ ("main/binary-amd64/Packages.xz").
void check_index(const Release& release, std::string_view index_path, const Digest& actual,
                 std::string_view repository);

// Checks the index `index_path` given as `bytes`; when it is compressed
// (.xz, .gz, .bz2, .lzma, .zst) and the Release also lists the uncompressed
// file, decompresses it and checks that too. Returns the digest of `bytes`.
Digest check_index_bytes(const Release& release, std::string_view index_path,
                         std::string_view bytes, std::string_view repository);

// The uncompressed text behind a compressed index, checked like
// check_index_bytes does, without decompressing when a copy made earlier
// still matches the Release.
struct IndexText {
  enum class Source { kNone, kDecompressed, kCached };
  Digest digest;                 // of the index as listed (compressed bytes)
  Source source = Source::kNone;  // kNone: not compressed, or its text not asked for
  std::optional<Digest> listed;   // the Release's entry for the uncompressed file
  std::string cache_refusal;      // why the cached copy was not used; starts with its name
};

struct IndexTextOptions {
  int text_fd = -1;              // receives the decompressed text (kDecompressed); -1: not asked for
  int cached_fd = -1;            // a copy decompressed earlier, read from offset 0; -1: none
  std::string_view cached_name;  // names that copy in cache_refusal
  // Above the Release's size of the uncompressed file, when listed; lowered by tests.
  std::uint64_t ceiling = kMaxIndexTextBytes;
};

// Checks `bytes` against the Release's entry for `index_path`. For a
// compressed index: when the Release lists the uncompressed file and the
// cached copy hashes to that entry, the text is not decompressed (kCached);
// otherwise `bytes` is decompressed, when the Release lists that entry (then
// checked against it) or a text_fd asks for it (kDecompressed: written there
// as it comes out, so only a chunk of it is ever in memory). Decompression
// stops as soon as the text passes the listed size or `ceiling`: an error
// naming the index, its repository and the size passed.
IndexText check_index_text(const Release& release, std::string_view index_path, std::string_view bytes,
                           std::string_view repository, const IndexTextOptions& options = {});

// Reads the first of <base>.xz, <base>.gz, <base> that the Release lists and
// that exists under dist_dir, checks it, decompresses it (bounded like
// check_index_text) and checks the uncompressed text too when the Release
// lists it. Returns that text.
std::string load_verified_index(const Release& release, const std::filesystem::path& dist_dir,
                                std::string_view index_base, std::string_view repository);

}  // namespace stage::verifier
