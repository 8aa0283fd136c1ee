#include "base/file_write.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace base {

void write_all(int fd, std::string_view data, std::string_view shown) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "write", shown);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void write_file_atomically(int dir_fd, std::string_view name, std::string_view content, mode_t mode) {
  const std::string target(name);
  const std::string temporary = "." + target + ".tmp";
  base::UniqueFd fd(base::check_syscall(
      ::openat(dir_fd, temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), "create", temporary));
  write_all(fd.get(), content, temporary);
  base::check_syscall(::fchmod(fd.get(), mode), "chmod", temporary);
  base::check_syscall(::fsync(fd.get()), "fsync", temporary);
  fd.reset();
  base::check_syscall(::renameat(dir_fd, temporary.c_str(), dir_fd, target.c_str()), "rename", target);
}

void write_file_replacing(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmp = path + ".tmp-XXXXXX";
  base::UniqueFd fd(base::check_syscall(::mkostemp(tmp.data(), O_CLOEXEC), "create", tmp));
  try {
    write_all(fd.get(), content, tmp);
    base::check_syscall(::fchmod(fd.get(), mode), "chmod", tmp);
    fd.reset();
    base::check_syscall(::rename(tmp.c_str(), path.c_str()), "rename", tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void make_directories(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::kFailed, "Failed to create directory '" + dir.string() + "': " + ec.message());
}

}  // namespace base
