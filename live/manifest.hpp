// The install medium's /install/manifest.json (docs/live-installer.md): what
// the ISO carries and how to install it. Paths in it are relative to the
// medium's mount point; load_manifest resolves and checks them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace live {

struct ImageEntry {
  std::filesystem::path path;  // absolute, under the medium
  std::string compression;     // "gzip"
  std::string sha256;          // of the compressed file
  std::uint64_t size = 0;      // of the compressed file
  std::string raw_sha256;      // of the raw disk image
  std::uint64_t raw_size = 0;  // bytes written to the disk
};

struct Manifest {
  ImageEntry image;
  unsigned root_partition = 0;  // 1-based GPT partition number of "/"
  std::string root_fs_type;     // ext2, ext3 or ext4
  unsigned esp_partition = 0;   // 0 = none
  std::string disk_path;        // "" = ask on the console
  std::string hostname;
  std::filesystem::path lockfile;
  std::string lockfile_sha256;
  std::filesystem::path template_dump;
};

inline constexpr int kManifestFormat = 1;

// Parses the manifest text; `medium` is the directory its paths are relative
// to. Throws base::Error naming `where` and the field on any bad value.
Manifest parse_manifest(std::string_view text, const std::filesystem::path& medium,
                        std::string_view where);

// Reads <medium>/install/manifest.json, parses it and checks that the image
// file exists with the recorded size and that the lockfile's SHA-256 matches.
Manifest load_manifest(const std::filesystem::path& medium);

}  // namespace live
