// Reproducible file system times (docs/reproducible-builds.md). With the
// stage's SOURCE_DATE_EPOCH set: no mtime in a file system's source tree is
// later than it (mkfs.ext4 -d and mcopy -m copy them), and every ext inode's
// ctime and atime is it. mkfs.ext4 -d copies a file's ctime, which no
// program can set, and its atime, which reading it during the build changes;
// debugfs sets both once the file system is made (E2FSPROGS_FAKE_TIME keeps
// its own superblock times fixed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stage::diskmaker {

// SOURCE_DATE_EPOCH of the stage's environment, or nullopt when unset.
std::optional<std::int64_t> source_date_epoch();

// Every entry under the directory `dir_fd` (itself included, links not
// followed) whose mtime is later than `time` gets `time` as its mtime; atimes
// are left alone. `shown` names the directory in errors.
void clamp_tree_mtimes(int dir_fd, const std::string& shown, std::int64_t time);

// The inodes debugfs's `testi` lines name as in use ("Inode N is marked in use").
std::vector<std::uint32_t> used_inodes(std::string_view testi_output);

// A debugfs script setting the ctime and atime of each inode to `time`.
std::string inode_times_script(const std::vector<std::uint32_t>& inodes, std::int64_t time);

// s_inodes_count of the ext superblock of the file system at `offset` in `fd`.
std::uint32_t ext_inode_count(int fd, std::uint64_t offset, const std::string& shown);

// The ext file system at `offset` of the file `path` (open as `fd`): the
// ctime and atime of every inode in use set to `time` with debugfs.
struct ExtImage {
  std::string path;
  int fd = -1;
  std::uint64_t offset = 0;
  int scratch_fd = -1;           // a writable directory for debugfs's output
  std::vector<int> inherit_fds;  // for /proc/self/fd paths
};
void settle_ext_inode_times(const ExtImage& image, std::int64_t time);

}  // namespace stage::diskmaker
