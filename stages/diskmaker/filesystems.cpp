#include "stages/diskmaker/filesystems.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "base/dir_entries.hpp"
#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/partition_table.hpp"
#include "stages/diskmaker/tools.hpp"
#include "stages/diskmaker/tree_times.hpp"

namespace stage::diskmaker {
namespace {

using base::UniqueFd;

std::string where(const PartitionSpec& p) { return "partition '" + p.id + "'"; }

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

bool all_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isxdigit(c); });
}

std::string size_kib(const PlacedPartition& p) { return std::to_string(p.size_bytes() / 1024) + "k"; }

std::vector<std::string> list_entries(int dir_fd, const std::string& dir_path) {
  std::vector<std::string> entries;
  for (const std::string& name : base::sorted_entry_names(dir_fd, dir_path)) entries.push_back(dir_path + "/" + name);
  return entries;
}
void make_ext(const PlacedPartition& p, const FsTarget& target) {
  run_tool_checked({.argv = ext_mkfs_argv(p, target.disk_path, target.source_dir),
                    .inherit_fds = target.inherit_fds},
                   "make the " + p.spec->fs_type + " file system of " + where(*p.spec));
  if (const auto time = source_date_epoch()) {
    settle_ext_inode_times({.path = target.disk_path, .fd = target.disk_fd, .offset = p.offset_bytes(),
                            .scratch_fd = target.scratch_fd, .inherit_fds = target.inherit_fds},
                           *time);
  }
}

void make_vfat(const PlacedPartition& p, const FsTarget& target) {
  run_tool_checked({.argv = vfat_mkfs_argv(p, target.disk_path), .inherit_fds = target.inherit_fds},
                   "make the FAT file system of " + where(*p.spec));
  if (!target.source_dir) return;
  const std::vector<std::string> entries = list_entries(target.source_fd, *target.source_dir);
  if (entries.empty()) return;
  run_tool_checked({.argv = mcopy_argv(p, target.disk_path, entries), .inherit_fds = target.inherit_fds},
                   "copy the files of " + where(*p.spec) + " into its FAT file system");
}

void make_swap(const PlacedPartition& p, const FsTarget& target) {
  const std::string name = ".swap-" + p.spec->id;
  ::unlinkat(target.scratch_fd, name.c_str(), 0);
  UniqueFd scratch(base::check_syscall(
      ::openat(target.scratch_fd, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600), "create", name));
  struct Remove {
    int dir;
    std::string name;
    ~Remove() { ::unlinkat(dir, name.c_str(), 0); }
  } remove{target.scratch_fd, name};
  base::check_syscall(::ftruncate(scratch.get(), static_cast<off_t>(p.size_bytes())), "size", name);
  std::vector<std::string> argv = {"mkswap", "-U", written_fs_uuid(*p.spec)};
  if (!p.spec->fs_label.empty()) argv.insert(argv.end(), {"-L", p.spec->fs_label});
  argv.push_back(target.scratch_dir + "/" + name);
  run_tool_checked({.argv = argv, .inherit_fds = target.inherit_fds}, "make the swap area of " + where(*p.spec));
  copy_data_extents(scratch.get(), target.disk_fd, p.offset_bytes(), p.size_bytes());
}

}  // namespace

std::string ext_features(std::string_view fs_type) {
  std::string features = "none,sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr";
  if (fs_type == "ext3" || fs_type == "ext4") features += ",has_journal";
  if (fs_type == "ext4") features += ",extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize";
  return features;
}

std::string written_fs_uuid(const PartitionSpec& p) {
  const std::string& uuid = p.fs_uuid;
  if (fs_kind(p.fs_type, p.id) != FsKind::kVfat) {
    base::require(is_uuid(uuid), "Failed to accept " + where(p) + ": fsUuid '" + uuid + "' is not a UUID");
    return uuid;
  }
  std::string hex;
  if (uuid.size() == 9 && uuid[4] == '-') hex = uuid.substr(0, 4) + uuid.substr(5);
  else if (uuid.size() == 8) hex = uuid;
  else if (is_uuid(uuid)) hex = uuid.substr(0, 8);
  base::require(hex.size() == 8 && all_hex(hex), "Failed to accept " + where(p) + ": fsUuid '" + uuid +
                                                    "' is not a FAT volume id (XXXX-XXXX) or a UUID");
  hex = upper(hex);
  return hex.substr(0, 4) + "-" + hex.substr(4);
}

std::vector<std::string> ext_mkfs_argv(const PlacedPartition& p, const std::string& disk,
                                       const std::optional<std::string>& source_dir) {
  const PartitionSpec& s = *p.spec;
  base::require(s.fs_label.size() <= 16, "Failed to accept " + where(s) + ": fsLabel '" + s.fs_label +
                                            "' is longer than 16 bytes (the ext limit)");
  std::vector<std::string> argv = {"mkfs.ext4", "-q", "-F", "-t", s.fs_type, "-b", "4096",
                                   "-O", ext_features(s.fs_type)};
  if (!s.fs_label.empty()) argv.insert(argv.end(), {"-L", s.fs_label});
  std::string extended = "offset=" + std::to_string(p.offset_bytes()) + ",root_owner=0:0";
  if (!s.ext_hash_seed.empty()) {
    base::require(is_uuid(s.ext_hash_seed), "Failed to accept " + where(s) + ": extHashSeed '" + s.ext_hash_seed +
                                                "' is not a UUID");
    extended += ",hash_seed=" + s.ext_hash_seed;
  }
  argv.insert(argv.end(), {"-U", written_fs_uuid(s), "-E", extended});
  if (source_dir) argv.insert(argv.end(), {"-d", *source_dir});
  argv.insert(argv.end(), {disk, size_kib(p)});
  return argv;
}

std::vector<std::string> vfat_mkfs_argv(const PlacedPartition& p, const std::string& disk) {
  const PartitionSpec& s = *p.spec;
  const std::string label = upper(s.fs_label);
  base::require(label.size() <= 11, "Failed to accept " + where(s) + ": fsLabel '" + s.fs_label +
                                       "' is longer than 11 characters (the FAT limit)");
  std::string volume_id = written_fs_uuid(s);
  volume_id.erase(4, 1);
  const std::string start = std::to_string(p.start_sector);
  // -h: the hidden sectors before the file system, which boot code reads.
  std::vector<std::string> argv = {"mkfs.vfat", "--offset=" + start, "-h", start};
  if (s.fs_type == "fat32") {
    // mkfs.vfat picks the cluster size from the size of the whole disk file,
    // not of the partition, which leaves a small ESP with fewer clusters than
    // FAT32 allows (mtools then cannot read it). Choose it here: the largest
    // of 8, 4, 2, 1 sectors that still gives a valid FAT32 cluster count.
    constexpr std::uint64_t kMinFat32Clusters = 65525 + 1024;  // + room for the FATs themselves
    const std::uint64_t sectors = p.size_bytes() / 512;
    std::uint64_t per_cluster = 8;
    while (per_cluster > 1 && sectors / per_cluster < kMinFat32Clusters) per_cluster /= 2;
    base::require(sectors / per_cluster >= kMinFat32Clusters,
                 "Failed to accept " + where(s) + ": a FAT32 file system needs at least 33 MiB; use fat16 for a "
                 "smaller partition");
    argv.insert(argv.end(), {"-F", "32", "-s", std::to_string(per_cluster)});
  }
  if (s.fs_type == "fat16") argv.insert(argv.end(), {"-F", "16"});
  if (!label.empty()) argv.insert(argv.end(), {"-n", label});
  argv.insert(argv.end(), {"-i", volume_id, disk, std::to_string(p.size_bytes() / 1024)});
  return argv;
}

std::vector<std::string> mcopy_argv(const PlacedPartition& p, const std::string& disk,
                                    const std::vector<std::string>& entries) {
  std::vector<std::string> argv = {"mcopy", "-s", "-p", "-m", "-i",
                                   disk + "@@" + std::to_string(p.offset_bytes())};
  argv.insert(argv.end(), entries.begin(), entries.end());
  argv.push_back("::/");
  return argv;
}

void make_filesystem(const PlacedPartition& partition, const FsTarget& target) {
  const PartitionSpec& s = *partition.spec;
  base::ErrorContext context{"making the file system of partition", s.id};
  const auto time = source_date_epoch();
  if (time && target.source_fd >= 0) clamp_tree_mtimes(target.source_fd, target.source_dir.value_or(s.id), *time);
  switch (fs_kind(s.fs_type, s.id)) {
    case FsKind::kNone: return;
    case FsKind::kExt: return make_ext(partition, target);
    case FsKind::kVfat: return make_vfat(partition, target);
    case FsKind::kSwap: return make_swap(partition, target);
    case FsKind::kXfs:
      throw base::Error(base::ErrorKind::kUnimplemented,
                       "xfs file systems are not supported yet: partition '" + s.id +
                           "' (mkfs.xfs cannot fill a file system from a directory with its owners and xattrs "
                           "without mounting it)")
          .with_hint("use ext4 for this partition");
  }
}

void copy_data_extents(int src, int dst, std::uint64_t offset, std::uint64_t size) {
  off_t pos = 0;
  const off_t end = static_cast<off_t>(size);
  while (pos < end) {
    const off_t data = ::lseek(src, pos, SEEK_DATA);
    if (data < 0 && errno == ENXIO) return;  // only holes are left
    base::check_syscall(data, "find the data of a scratch file");
    if (data >= end) return;
    off_t hole = base::check_syscall(::lseek(src, data, SEEK_HOLE), "find a hole in a scratch file");
    hole = std::min(hole, end);
    loff_t in = data;
    loff_t out = static_cast<loff_t>(offset) + data;
    while (in < hole) {
      const ssize_t n = base::check_syscall(
          ::copy_file_range(src, &in, dst, &out, static_cast<std::size_t>(hole - in), 0), "copy into the disk file");
      base::check(n > 0, "Failed to copy into the disk file: unexpected end of the scratch file");
    }
    pos = hole;
  }
}

}  // namespace stage::diskmaker
