// Copies of a built disk image for inspect and compare: a partition cut out
// with dd at its byte range (sfdisk's numbers), a file of an ext4 copy
// replaced with debugfs -w, the partition written back into a copy of the
// whole disk. Host tools only, no privileges; copies are sparse.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "tests/image/disk_inspect.hpp"

namespace tests::image {

// `cp --sparse=always FROM TO`.
void sparse_copy(const std::filesystem::path& from, const std::filesystem::path& to,
                 const std::filesystem::path& scratch);

// Bytes [offset, offset + size) of `disk` into the new file `out` (dd, sparse).
void extract_partition(const std::filesystem::path& disk, std::uint64_t offset, std::uint64_t size,
                       const std::filesystem::path& out, const std::filesystem::path& scratch);

// `part` written over `disk` at `offset`, the rest of `disk` left as it is.
void write_partition(const std::filesystem::path& part, const std::filesystem::path& disk, std::uint64_t offset,
                     const std::filesystem::path& scratch);

// Replaces `path` in the ext2/3/4 file system `fs_image` (a bare file system,
// not a disk) with `content`, root-owned with `mode` (0100644): debugfs -w
// rm, write and set_inode_field.
void replace_ext4_file(const std::filesystem::path& fs_image, const std::string& path, const std::string& content,
                       std::uint32_t mode, const std::filesystem::path& scratch);

// `blkid -p -o export FILE` of a bare file system: KEY -> VALUE.
std::map<std::string, std::string> blkid_of(const std::filesystem::path& fs_image,
                                            const std::filesystem::path& scratch);

// `debugfs -R stats` of a bare ext2/3/4 file system: "Filesystem UUID" -> "...", one entry a line.
std::map<std::string, std::string> ext4_superblock(const std::filesystem::path& fs_image,
                                                   const std::filesystem::path& scratch);

// `minfo` (mtools) of a bare FAT file system: its "bootsector information"
// lines, "sector size" -> "512", "big size" -> "262143", ... (units dropped).
std::map<std::string, std::string> fat_boot_sector(const std::filesystem::path& fs_image,
                                                   const std::filesystem::path& scratch);

struct DpkgPackage {
  std::string version;
  std::string architecture;
  bool operator==(const DpkgPackage&) const = default;
};

// The installed packages of the dpkg status file `status` as the host's
// dpkg-query reads it (--admindir of a copy): name -> version, architecture.
std::map<std::string, DpkgPackage> dpkg_installed(const std::string& status, const std::filesystem::path& scratch);

}  // namespace tests::image
