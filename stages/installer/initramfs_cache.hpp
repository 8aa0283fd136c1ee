// The initramfs of an identical configured tree, made once and reused
// (docs/image-build.md, "Initramfs reuse"). Rebuilding one template makes
// the same tree each time, and its initramfs is by far the slowest step of
// a warm build (a minute of update-initramfs with MODULES=most).
//
// The key hashes everything the initramfs tool could read: the whole tree
// (each entry's path, type, mode, owner, size, content or link target; not
// its times), the tool, the kernel version, the extra modules, the verity
// flag and SOURCE_DATE_EPOCH. An initramfs is kept only when making it
// changed nothing in the tree but the initramfs file (a post-update hook
// that copies it elsewhere would make a reused one incomplete). What it
// only touched (mkinitramfs's work directory in /var/tmp changes that
// directory's time, which the disk keeps, clamped) is touched again when
// the initramfs is reused, so both give the same disk bytes. The
// supervisor keeps each as <dir>/<key>, a regular file with the tool's
// mode, and <dir>/<key>.touched, those paths one per line, in a directory
// bound read-only into the stage.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/installer/initramfs.hpp"

namespace stage::installer {

// One entry of a tree: its path and a digest of what it is.
struct TreeEntry {
  std::string path;                      // relative to the tree: "boot/vmlinuz-6.1.0"
  std::array<unsigned char, 32> digest;  // sha256 of path, type, mode, owner, size and content or target
  ino_t inode = 0;                       // with ctime and size: unchanged content, for a later listing
  timespec ctime{};
  timespec mtime{};                      // not in the digest: a reuse touches what the tool touched
  off_t size = 0;
};
using TreeListing = std::vector<TreeEntry>;  // sorted by path

// Every entry under `root`, mount points (another device: /proc, /dev) and
// what is under them left out. A regular file whose inode, ctime and size
// are those of `earlier`'s entry keeps that entry's digest unread.
TreeListing list_tree(const std::filesystem::path& root, const TreeListing* earlier = nullptr);

// Paths added, removed or changed from `before` to `after`, sorted.
std::vector<std::string> changed_paths(const TreeListing& before, const TreeListing& after);
// Paths in both, unchanged but for their modification time, sorted.
std::vector<std::string> touched_paths(const TreeListing& before, const TreeListing& after);

// sha256 (hex) naming the initramfs `tool` makes for the tree `tree` lists.
std::string initramfs_key(const TreeListing& tree, const KernelInfo& kernel, std::string_view tool,
                          const InitramfsContents& contents, std::int64_t source_date_epoch);

struct InitramfsOutcome {
  std::string key;                         // "" when the initramfs may not be kept
  bool reused = false;                     // copied from the cache
  std::vector<std::string> also_changed;   // what the tool wrote besides the initramfs
  std::vector<std::string> touched;        // what it only touched (kept with the key)
};

// With `cache_dir`: copies <cache_dir>/<key> into the tree when it and
// <key>.touched are there and touches what that lists, else calls `make`
// and tells whether the result may be kept.
// Without: calls `make`. A cache entry that is not a regular file is an
// error: the supervisor writes nothing else there.
InitramfsOutcome make_or_reuse_initramfs(const std::filesystem::path& root, const KernelInfo& kernel,
                                         std::string_view tool, const InitramfsContents& contents,
                                         std::int64_t source_date_epoch,
                                         const std::optional<std::filesystem::path>& cache_dir,
                                         const std::function<void()>& make);

// Ends every process the configuration left running in the stage's pid
// namespace (a template command's daemon), so that none can touch the tree
// between its listing and the initramfs it names. Only as pid 1 of a pid
// namespace (the sandbox); returns whether any was running.
bool end_stray_processes();

}  // namespace stage::installer
