#include "stages/isomaker/tree_paths.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/error.hpp"
#include "base/openat2.hpp"

namespace stage::isomaker {
namespace {

std::string relative(std::string_view path) {
  while (path.starts_with('/')) path.remove_prefix(1);
  return path.empty() ? std::string(".") : std::string(path);
}

long open_resolved(int tree_fd, std::string_view path, int flags) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return base::openat2_retrying(tree_fd, relative(path).c_str(), how);
}

}  // namespace

base::UniqueFd open_in_tree(int tree_fd, std::string_view path, int flags, std::string_view what) {
  base::require(path.starts_with('/'), std::string(what) + " '" + std::string(path) + "' is not an absolute path");
  const long fd = open_resolved(tree_fd, path, flags);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
    base::fail(base::ErrorKind::kInvalidInput,
               std::string(what) + " '" + std::string(path) + "' does not exist in the tree");
  }
  return base::UniqueFd(static_cast<int>(base::check_syscall(fd, "open " + std::string(what), path)));
}

std::string resolve_in_tree(int tree_fd, std::string_view path, std::string_view what) {
  const base::UniqueFd fd = open_in_tree(tree_fd, path, O_PATH, what);
  return std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd.get())).string();
}

bool exists_in_tree(int tree_fd, std::string_view path) {
  const long fd = open_resolved(tree_fd, path, O_PATH);
  if (fd >= 0) ::close(static_cast<int>(fd));
  return fd >= 0;
}

void require_file_name(std::string_view name, std::string_view what) {
  base::require(!name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..",
                std::string(what) + " '" + std::string(name) + "' must be a plain file name (no '/')");
}

}  // namespace stage::isomaker
