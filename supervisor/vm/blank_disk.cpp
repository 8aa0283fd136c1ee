#include "supervisor/vm/blank_disk.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/vm/vm_process.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using base::UniqueFd;

std::string read_all(int fd) {
  std::string text;
  std::array<char, 4096> chunk;
  for (ssize_t n; (n = ::read(fd, chunk.data(), chunk.size())) > 0;) text.append(chunk.data(), static_cast<std::size_t>(n));
  return text;
}

}  // namespace

void create_blank_disk(const fs::path& qemu_img, const fs::path& path, int gib) {
  base::require(gib >= 1 && gib <= kMaxDiskGib, "invalid disk size " + std::to_string(gib) + " GiB (expected 1.." +
                                                     std::to_string(kMaxDiskGib) + ")");
  std::error_code ec;
  base::require(!fs::exists(fs::symlink_status(path, ec)),
                "Failed to create disk '" + path.string() + "': it already exists (a disk is never overwritten)");
  int fds[2];
  base::check_syscall(::pipe2(fds, O_CLOEXEC), "create a pipe for", "qemu-img");
  UniqueFd err_read(fds[0]);
  UniqueFd err_write(fds[1]);
  const UniqueFd null_fd(base::check_syscall(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null"));
  // qemu-img create writes a few lines at most: they fit in the pipe.
  VmProcess run({qemu_img.string(), "create", "-q", "-f", "qcow2", path.string(), std::to_string(gib) + "G"}, {},
                ChildStdio{.in = null_fd.get(), .out = null_fd.get(), .err = err_write.get()});
  err_write.reset();
  const int status = run.wait();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string message = read_all(err_read.get());
  while (!message.empty() && message.back() == '\n') message.pop_back();
  throw base::Error(base::ErrorKind::kFailed, "Failed to create disk '" + path.string() + "' with qemu-img: " +
                                                  (message.empty() ? "it failed without a message" : message));
}

}  // namespace supervisor
