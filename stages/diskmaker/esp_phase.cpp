#include "stages/diskmaker/esp_phase.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/dir_entries.hpp"
#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

using base::UniqueFd;

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

void keep_times(int fd, const struct stat& st, const std::string& shown) {
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  base::check_syscall(::futimens(fd, times), "set the times of", shown);
}

void copy_file(int src_dir, int dst_dir, const std::string& name, const struct stat& st, const std::string& shown) {
  UniqueFd in(base::check_syscall(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), "open", shown));
  UniqueFd out(base::check_syscall(
      ::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777),
      "create the copy of", shown));
  off_t left = st.st_size;
  while (left > 0) {
    const ssize_t n = base::check_syscall(
        ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<std::size_t>(left), 0), "copy", shown);
    base::check(n > 0, "Failed to copy '" + shown + "': it ended early");
    left -= n;
  }
  base::check_syscall(::fchmod(out.get(), st.st_mode & 07777), "set the mode of the copy of", shown);
  keep_times(out.get(), st, shown);
}

}  // namespace

std::string esp_dir_name(const std::string& output_name) { return "." + output_name + ".esp"; }

bool phase_makes(DiskPhase phase, const PartitionSpec& partition) {
  const bool fat = fs_kind(partition.fs_type, partition.id) == FsKind::kVfat;
  switch (phase) {
    case DiskPhase::kWhole: return true;
    case DiskPhase::kPartitions: return !fat;
    case DiskPhase::kFinish: return fat;
  }
  return true;
}

void copy_plain_tree(int src_dir, int dst_dir, const std::string& shown) {
  for (const std::string& name : base::sorted_entry_names(src_dir, shown)) {
    const std::string path = shown + "/" + name;
    struct stat st {};
    base::check_syscall(::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "inspect", path);
    if (S_ISREG(st.st_mode)) {
      copy_file(src_dir, dst_dir, name, st, path);
    } else if (S_ISDIR(st.st_mode)) {
      base::check_syscall(::mkdirat(dst_dir, name.c_str(), 0755), "make the copy of", path);
      UniqueFd from(base::check_syscall(::openat(src_dir, name.c_str(), kDirFlags), "open", path));
      UniqueFd to(base::check_syscall(::openat(dst_dir, name.c_str(), kDirFlags), "open the copy of", path));
      copy_plain_tree(from.get(), to.get(), path);
      base::check_syscall(::fchmod(to.get(), st.st_mode & 07777), "set the mode of the copy of", path);
      keep_times(to.get(), st, path);
    } else {
      base::fail(base::ErrorKind::kInvalidInput,
                 "Failed to copy the ESP's files for Secure Boot signing: '" + path + "' is " +
                     (S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file or directory") +
                     ", which a FAT file system cannot hold");
    }
  }
}

void export_fat_tree(int src_dir, int esp_dir_fd, const PartitionSpec& partition) {
  const std::string& id = partition.id;
  base::require(!id.empty() && id != "." && id != ".." && id.find('/') == std::string::npos,
                "Failed to copy the files of partition '" + id + "': its id is not a plain file name");
  base::check_syscall(::mkdirat(esp_dir_fd, id.c_str(), 0700), "make the ESP copy directory", id);
  UniqueFd to(base::check_syscall(::openat(esp_dir_fd, id.c_str(), kDirFlags), "open the ESP copy directory", id));
  if (src_dir >= 0) copy_plain_tree(src_dir, to.get(), partition.mount_point);
}

void make_fat_from_export(const std::vector<PlacedPartition>& placed, int esp_dir_fd, const FsTarget& target) {
  for (const PlacedPartition& p : placed) {
    if (!phase_makes(DiskPhase::kFinish, *p.spec)) continue;
    const std::string& id = p.spec->id;
    const int fd = ::openat(esp_dir_fd, id.c_str(), kDirFlags);
    base::require(fd >= 0, "Failed to make the FAT file system of partition '" + id +
                               "': the first run left no copy of its files (" + std::strerror(errno) + ")");
    UniqueFd dir(fd);
    FsTarget fat = target;
    fat.source_dir = "/proc/self/fd/" + std::to_string(esp_dir_fd) + "/" + id;
    fat.source_fd = dir.get();
    fat.inherit_fds.push_back(esp_dir_fd);
    make_filesystem(p, fat);
  }
}

}  // namespace stage::diskmaker
