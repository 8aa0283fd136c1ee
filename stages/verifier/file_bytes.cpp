#include "stages/verifier/file_bytes.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::verifier {
namespace {

std::string read_all(int fd, const std::filesystem::path& file) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", file.string());
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

std::string read_fd_bytes(int fd, const std::string& what) { return read_all(fd, what); }

std::string read_file_bytes(const std::filesystem::path& file) {
  base::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  base::check_syscall(fd.get(), "open", file.string());
  return read_all(fd.get(), file);
}

std::optional<std::string> read_file_bytes_if_exists(const std::filesystem::path& file) {
  base::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd && errno == ENOENT) return std::nullopt;
  base::check_syscall(fd.get(), "open", file.string());
  return read_all(fd.get(), file);
}

}  // namespace stage::verifier
