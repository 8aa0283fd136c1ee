#include "sandbox/tree_removal.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <system_error>

#include "base/error.hpp"
#include "sandbox/baseline_policy.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/stage_policy.hpp"
#include "sandbox/syscall_sets.hpp"
#include "base/unique_fd.hpp"

namespace sandbox {
namespace {

namespace fs = std::filesystem;

void require_removable(const fs::path& path) {
  base::require(path.is_absolute() && path.has_parent_path() && path != path.root_path() &&
                   path.filename() != "." && path.filename() != "..",
               "Refusing to remove '" + path.string() + "': not an absolute path below a directory");
}

// Reads what the child wrote to its stderr (bounded: rm prints one line per failure).
std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() < 64 * 1024) text.append(buffer, n);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

SandboxSpec tree_removal_spec(const fs::path& path) {
  namespace sc = syscalls;
  StagePolicy policy{"tree-removal", baseline_policy()};
  policy.seccomp.allow(sc::filesystem_write());
  // Unlinking entries of directories owned by other (mapped) ids.
  policy.capabilities = {CAP_DAC_OVERRIDE, CAP_FOWNER};
  SandboxSpec spec = make_spec(policy, "/usr/bin/rm", {"rm", "-rf", "--one-file-system", path.string()});
  spec.user_mapping = UserMapping::kSubordinateRange;
  spec.mounts.push_back({MountKind::kBindRw, path.parent_path().string(), path.parent_path().string(), {}});
  return spec;
}

void remove_tree_sandboxed(const fs::path& path) {
  require_removable(path);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return;
  if (::geteuid() == 0) {
    // Root may unlink anything, while its sandbox (a subordinate range) could
    // not touch root's own files: no sandbox is needed or useful.
    fs::remove_all(path, ec);
    if (ec) throw base::Error(base::ErrorKind::kFailed, "Failed to remove '" + path.string() + "': " + ec.message());
    return;
  }
  int pipe_fds[2];
  base::check_syscall(::pipe2(pipe_fds, O_CLOEXEC), "create a pipe for removing", path.string());
  base::UniqueFd read_end(pipe_fds[0]);
  base::UniqueFd write_end(pipe_fds[1]);
  SandboxSpec spec = tree_removal_spec(path);
  spec.fds.push_back({write_end.get(), 2});
  SpawnedStage child = spawn(spec);
  write_end.reset();
  const std::string errors = read_all(read_end.get());
  const int status = child.wait();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw base::Error(base::ErrorKind::kFailed,
                     "Failed to remove '" + path.string() + "': rm " +
                         (WIFEXITED(status) ? "exited with " + std::to_string(WEXITSTATUS(status))
                                            : "was killed by signal " + std::to_string(WTERMSIG(status))) +
                         (errors.empty() ? "" : ": " + errors));
  }
}

void remove_tree(const fs::path& path) {
  require_removable(path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (!ec) return;
  if (ec.value() != EACCES && ec.value() != EPERM) {
    throw base::Error(base::ErrorKind::kFailed, "Failed to remove '" + path.string() + "': " + ec.message());
  }
  remove_tree_sandboxed(path);
}

}  // namespace sandbox
