// SHA-256 + size checks along Debian's chain of trust: Release → Packages
// index → .deb (the last link is checksums.hpp's check_package). Every
// mismatch names the file, the repository and both hashes.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/verifier/checksums.hpp"
#include "stages/verifier/deb/release.hpp"

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
  Source source = Source::kNone;  // kNone: `index_path` is not compressed
  std::string text;               // kDecompressed only
  std::optional<Digest> listed;   // the Release's entry for the uncompressed file
  std::string cache_refusal;      // why `cached_fd` was not used; starts with `cached_name`
};

// Checks `bytes` against the Release's entry for `index_path`. For a
// compressed index: when the Release lists the uncompressed file and
// `cached_fd` (>= 0, read from offset 0) hashes to that entry, the text is
// not decompressed (kCached); otherwise `bytes` is decompressed, when the
// Release lists that entry (then checked against it) or `want_text`
// (kDecompressed; the text is returned only if `want_text`).
IndexText check_index_text(const Release& release, std::string_view index_path, std::string_view bytes,
                           std::string_view repository, bool want_text, int cached_fd = -1,
                           std::string_view cached_name = {});

// Reads the first of <base>.xz, <base>.gz, <base> that the Release lists and
// that exists under dist_dir, checks it, decompresses it and checks the
// uncompressed text too when the Release lists it. Returns that text.
std::string load_verified_index(const Release& release, const std::filesystem::path& dist_dir,
                                std::string_view index_base, std::string_view repository);

}  // namespace stage::verifier
