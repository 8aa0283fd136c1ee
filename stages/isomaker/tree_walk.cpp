#include "stages/isomaker/tree_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::isomaker {
namespace {

using base::UniqueFd;

bool is_excluded(const std::string& path, const std::vector<std::string>& excluded) {
  for (const auto& ex : excluded) {
    if (path == ex || (path.size() > ex.size() && path.starts_with(ex) && path[ex.size()] == '/')) return true;
  }
  return false;
}

std::vector<std::string> names_in(int dir_fd, const std::string& shown) {
  UniqueFd copy(base::check_syscall(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0), "duplicate the fd of", shown));
  DIR* dir = ::fdopendir(copy.get());
  if (dir == nullptr) base::check_syscall(-1, "read the directory", shown);
  (void)copy.release();
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* d = ::readdir(dir)) {
    const std::string name = d->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int read_errno = errno;
  ::closedir(dir);
  if (read_errno != 0) {
    errno = read_errno;
    base::check_syscall(-1, "read the directory", shown);
  }
  return names;
}

void walk_dir(int dir_fd, const std::string& prefix, const std::vector<std::string>& excluded,
              std::vector<TreeEntry>& out) {
  for (const auto& name : names_in(dir_fd, prefix.empty() ? "/" : prefix)) {
    TreeEntry entry{prefix.empty() ? name : prefix + "/" + name, {}};
    if (is_excluded(entry.path, excluded)) continue;
    base::check_syscall(::fstatat(dir_fd, name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW), "stat", "/" + entry.path);
    out.push_back(entry);
    if (!S_ISDIR(entry.st.st_mode)) continue;
    UniqueFd sub(base::check_syscall(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                     "open the directory", "/" + entry.path));
    walk_dir(sub.get(), entry.path, excluded, out);
  }
}

}  // namespace

std::vector<std::string> normalize_excluded(const std::vector<std::string>& excluded) {
  std::vector<std::string> out;
  for (const auto& path : excluded) {
    base::require(path.starts_with('/'), "excluded path '" + path + "' is not absolute");
    std::string rel = path.substr(path.find_first_not_of('/') == std::string::npos ? path.size()
                                                                                    : path.find_first_not_of('/'));
    while (rel.ends_with('/')) rel.pop_back();
    base::require(!rel.empty(), "excluded path '" + path + "' would exclude the whole tree");
    const std::string padded = "/" + rel + "/";
    base::require(padded.find("/./") == std::string::npos && padded.find("/../") == std::string::npos &&
                      padded.find("//") == std::string::npos,
                  "excluded path '" + path + "' must not hold '.', '..' or empty components");
    out.push_back(rel);
  }
  return out;
}

std::vector<TreeEntry> walk_tree(int tree_fd, const std::vector<std::string>& excluded) {
  std::vector<TreeEntry> entries;
  walk_dir(tree_fd, "", normalize_excluded(excluded), entries);
  std::sort(entries.begin(), entries.end(), [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return entries;
}

}  // namespace stage::isomaker
