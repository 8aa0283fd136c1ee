// Reads a raw disk image, given as a read-only fd, with the host's sfdisk,
// blkid and debugfs (program.hpp): the partition table, each partition's file
// system, and from the root file system (the first ext2/3/4 partition with
// an /etc directory) os-release, dpkg's installed packages, users and groups.
// Symbolic links inside the image are followed within the image's file
// system only (debugfs resolves them against its root), at most 40 of them.
// Every read is bounded; an image that lies (partitions past its end, a
// broken table, files too large) is an error naming what and where.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "stages/inspector/disk_text.hpp"
#include "stages/inspector/report.hpp"

namespace stage::inspector {

// The largest file the inspector reads out of an image (dpkg's status of a
// large system is a few MiB).
inline constexpr std::uint64_t kMaxFileBytes = 64ULL << 20;

// One ext2/3/4 file system of the image, read with debugfs.
class ExtFiles {
 public:
  ExtFiles(int image_fd, std::uint64_t offset, std::string where);
  // The file at `path` (links followed inside the file system); nullopt when
  // absent. Not a regular file, or larger than `max_bytes`: an error.
  std::optional<std::string> read(const std::string& path, std::uint64_t max_bytes = kMaxFileBytes) const;
  // `path`'s inode (not followed); nullopt when absent.
  std::optional<DebugfsStat> stat(const std::string& path) const;
  std::uint64_t fs_size() const;
  // The regular files of directory `path` (not followed); empty when absent.
  std::vector<std::string> regular_files(const std::string& path) const;

 private:
  std::string debugfs(const std::string& request, std::uint64_t max_out) const;
  std::string link_target(const std::string& path, const DebugfsStat& stat) const;

  int image_fd_;
  std::uint64_t offset_;
  std::string where_;  // "partition 2 of 'disk.raw'", for messages
};

// One FAT file system of the image, read with mtools.
class FatFiles {
 public:
  FatFiles(int image_fd, std::uint64_t offset, std::string where);
  // Every path in it, hidden and system files too, sorted; a directory's ends in '/'.
  std::vector<std::string> list() const;
  // The file at `path`; more than `max_bytes`, or a name with a wildcard: an error.
  std::string read(const std::string& path, std::size_t max_bytes = 1 << 20) const;

 private:
  std::string drive() const;

  int fd_;
  std::uint64_t offset_;
  std::string where_;
};

struct ReadProgress {
  std::function<void(const std::string& phase, const std::string& item)> report;
};

// The SBOM's bytes are carried in the stage's result, one frame of 64 MiB at most.
inline constexpr std::uint64_t kMaxSbomBytes = 32ULL << 20;

// What a report holds beyond the default.
struct ReadOptions {
  bool extract_sbom = false;  // the embedded SBOM's bytes
  bool list_files = false;    // every file of each ext2/3/4 and FAT partition (file_manifest.hpp)
};

inline constexpr std::size_t kMaxConfigBytes = 1 << 20;  // one boot configuration file
inline constexpr std::size_t kMaxBootConfigs = 64;

std::string lower(std::string text);
bool ends_with(const std::string& text, const std::string& end);
// grub.cfg anywhere, systemd-boot's loader.conf and entries.
bool is_boot_config(const std::string& path);
// Adds a boot configuration file and the kernel entries it gives.
void add_config(Report& report, std::uint32_t partition, const std::string& path, std::string text);

// The whole report; `name` is the image as the user named it (messages only).
Report read_image(int image_fd, const std::string& name, const ReadProgress& progress = {},
                  const ReadOptions& options = {});

}  // namespace stage::inspector
