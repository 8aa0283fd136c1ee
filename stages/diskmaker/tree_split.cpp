#include "stages/diskmaker/tree_split.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

using base::UniqueFd;

struct ParentAndLeaf {
  UniqueFd parent;
  std::string leaf;
};

// Opens the parent of `relative` one component at a time without following
// symlinks: the tree is the target's, and a link must not lead outside it.
// Missing directories are made (0755) when `create` is set.
ParentAndLeaf open_parent(int root_fd, const std::string& relative, bool create) {
  UniqueFd dir(base::check_syscall(::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open the tree"));
  std::size_t begin = 0;
  for (std::size_t slash; (slash = relative.find('/', begin)) != std::string::npos; begin = slash + 1) {
    const std::string part = relative.substr(begin, slash - begin);
    if (create && ::mkdirat(dir.get(), part.c_str(), 0755) < 0 && errno != EEXIST) {
      base::check_syscall(-1, "make the directory", "/" + relative.substr(0, slash));
    }
    const int next = ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    base::check_syscall(next, "open the directory (symlinks are not followed)", "/" + relative.substr(0, slash));
    dir = UniqueFd(next);
  }
  return {std::move(dir), relative.substr(begin)};
}

}  // namespace

TreeSplit::TreeSplit(int root_fd, int work_fd, const std::vector<const PartitionSpec*>& partitions)
    : root_fd_(root_fd), work_fd_(work_fd) {
  try {
    for (const PartitionSpec* p : partitions) move_out(*p);
  } catch (const base::Error&) {
    // The destructor does not run for a constructor that throws.
    try {
      restore();
    } catch (const base::Error&) {
    }
    throw;
  }
}

TreeSplit::~TreeSplit() {
  try {
    restore();
  } catch (const base::Error&) {
    // Already failing: the tree is the build's own copy, and the error that
    // got us here is the one to report.
  }
}

std::optional<std::string> TreeSplit::moved_name(const std::string& id) const {
  for (const auto& m : moved_) {
    if (m.id == id) return m.name;
  }
  return std::nullopt;
}

void TreeSplit::move_out(const PartitionSpec& partition) {
  base::ErrorContext context{"moving the files of partition", partition.id, "out of the tree"};
  Moved moved{partition.id, partition.mount_point.substr(1), "p-" + std::to_string(moved_.size()), true};
  ParentAndLeaf where = open_parent(root_fd_, moved.relative, true);
  const std::string shown = partition.mount_point;
  struct stat st {};
  if (::fstatat(where.parent.get(), where.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    base::check_syscall(errno == ENOENT ? 0 : -1, "inspect the mount point", shown);
    // No files for this partition: an empty file system, and a mount point.
    base::check_syscall(::mkdirat(work_fd_, moved.name.c_str(), 0755), "make a work directory", moved.name);
    base::check_syscall(::mkdirat(where.parent.get(), where.leaf.c_str(), 0755), "make the mount point", shown);
    moved.existed = false;
    moved_.push_back(std::move(moved));
    return;
  }
  base::require(S_ISDIR(st.st_mode), "Failed to split the tree: mount point '" + shown +
                                        "' is not a directory in the tree");
  if (::renameat(where.parent.get(), where.leaf.c_str(), work_fd_, moved.name.c_str()) < 0) {
    const int e = errno;
    base::Error error(base::ErrorKind::kFailed, "Failed to move '" + shown + "' out of the tree: " + std::strerror(e));
    if (e == EXDEV) error.with_hint("rootDir and outputDir must be on one file system");
    throw error.with_errno(e);
  }
  moved_.push_back(moved);
  base::check_syscall(::mkdirat(where.parent.get(), where.leaf.c_str(), st.st_mode & 07777),
                     "make the empty mount point", shown);
  base::check_syscall(::fchownat(where.parent.get(), where.leaf.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW),
                     "give the mount point its owner", shown);
  base::check_syscall(::fchmodat(where.parent.get(), where.leaf.c_str(), st.st_mode & 07777, 0),
                     "give the mount point its mode", shown);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  base::check_syscall(::utimensat(where.parent.get(), where.leaf.c_str(), times, AT_SYMLINK_NOFOLLOW),
                     "give the mount point its times", shown);
}

void TreeSplit::move_back(const Moved& moved) {
  ParentAndLeaf where = open_parent(root_fd_, moved.relative, false);
  if (!moved.existed) {
    base::check_syscall(::unlinkat(work_fd_, moved.name.c_str(), AT_REMOVEDIR), "remove", moved.name);
    return;
  }
  if (::unlinkat(where.parent.get(), where.leaf.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
    base::check_syscall(-1, "remove the empty mount point", "/" + moved.relative);
  }
  base::check_syscall(::renameat(work_fd_, moved.name.c_str(), where.parent.get(), where.leaf.c_str()),
                     "move back", "/" + moved.relative);
}

void TreeSplit::restore() {
  while (!moved_.empty()) {
    const Moved moved = moved_.back();
    moved_.pop_back();
    move_back(moved);
  }
}

}  // namespace stage::diskmaker
