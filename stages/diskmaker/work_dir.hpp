// The stage's scratch directories beside its output: made afresh (an
// interrupted run's left-overs go first) and removed when done.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {

// An fd as a path the tools the stage runs can open.
inline std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// `name` in `out_fd`, new and empty, opened.
inline base::UniqueFd make_work_dir(int out_fd, const std::string& name) {
  std::error_code ignored;
  std::filesystem::remove_all(fd_path(out_fd) + "/" + name, ignored);
  base::check_syscall(::mkdirat(out_fd, name.c_str(), 0700), "make the work directory", name);
  return base::UniqueFd(base::check_syscall(::openat(out_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                                            "open the work directory", name));
}

// Removes `path` and everything below it when it goes, unless kept.
struct RemoveTree {
  std::string path;
  bool keep = false;
  ~RemoveTree() {
    std::error_code ignored;
    if (!keep) std::filesystem::remove_all(path, ignored);
  }
};

}  // namespace stage::diskmaker
