// Every file of a partition's file system, for `compare`: its path, type,
// permission bits, owner, size, a regular file's content SHA-256 and a
// symbolic link's target. ext2/3/4 is walked with debugfs, a few processes
// for the whole file system (debugfs_batch.hpp): `ls -p` of each directory
// level, `stat` of the symbolic links, `cat` of the files, split by their
// known sizes and hashed as they are cut out. FAT is listed with mdir and
// each file read with mtype. The file system is untrusted: the files and
// the bytes of their names are counted against one budget per image, a
// directory reached twice is an error, and files larger than
// kMaxHashedFileBytes are listed without a hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stages/inspector/image_reader.hpp"
#include "stages/inspector/report.hpp"

namespace stage::inspector {

// The result is one frame of 64 MiB: each file takes about 110 bytes there
// besides its path and link target, so 250,000 files take 27 MiB and their
// names at most 24 MiB more.
inline constexpr std::size_t kMaxManifestFiles = 250000;             // all partitions of the image
inline constexpr std::uint64_t kMaxManifestNameBytes = 24ULL << 20;  // their paths and link targets
inline constexpr std::uint64_t kMaxHashedFileBytes = 512ULL << 20;

// What one image's manifest has used up so far; past a limit, an error naming `where`.
class ManifestBudget {
 public:
  void add(const FileEntry& file, const std::string& where);

 private:
  std::size_t files_ = 0;
  std::uint64_t name_bytes_ = 0;
};

// One line of debugfs `ls -p`: "/INODE/MODE/UID/GID/NAME/SIZE/" (a directory's SIZE is empty).
struct DebugfsEntry {
  std::uint32_t inode = 0;
  std::uint32_t mode = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string name;
  std::uint64_t size = 0;
};
// Every line must be one (a name with a newline is an error naming `where`).
std::vector<DebugfsEntry> parse_debugfs_listing(std::string_view text, const std::string& where);

// The type word of an inode's mode: "regular", "directory", "symlink",
// "char", "block", "fifo", "socket"; an unknown type is an error.
std::string file_type_of(std::uint32_t mode, const std::string& where);

// Appends the files of the ext2/3/4 file system at byte `offset`, sorted by path.
void list_ext_files(int image_fd, std::uint64_t offset, std::uint32_t partition, const std::string& where,
                    ManifestBudget& budget, std::vector<FileEntry>& out);

// Appends the files of a FAT file system, sorted by path (no mode or owner).
void list_fat_files(const FatFiles& files, std::uint32_t partition, const std::string& where, ManifestBudget& budget,
                    std::vector<FileEntry>& out);

}  // namespace stage::inspector
