#include "stages/isomaker/output_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/fetcher/sha256.hpp"

namespace stage::isomaker {

std::string partial_name(const std::string& name) { return "." + name + ".partial"; }

PendingOutputs::~PendingOutputs() {
  for (const auto& [name, fd] : files_) {
    if (fd >= 0) ::close(fd);
    ::unlinkat(dir_fd_, partial_name(name).c_str(), 0);
  }
}

int PendingOutputs::create(const std::string& name) {
  const std::string temp = partial_name(name);
  ::unlinkat(dir_fd_, temp.c_str(), 0);
  const int fd = base::check_syscall(::openat(dir_fd_, temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644),
                                     "create", temp);
  files_.emplace_back(name, fd);
  return fd;
}

// Opened again by name: a tool may have replaced the file it was given.
WrittenFile PendingOutputs::finish(const std::string& name) {
  const std::string temp = partial_name(name);
  base::UniqueFd fd(
      base::check_syscall(::openat(dir_fd_, temp.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), "open", temp));
  base::check_syscall(::fsync(fd.get()), "flush", temp);
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat", temp);
  base::check(S_ISREG(st.st_mode), temp + " is not a regular file");
  fetcher::Sha256 hash;
  hash.update_from_fd(fd.get(), static_cast<std::uint64_t>(st.st_size), temp);
  return {name, hash.finish_hex(), static_cast<std::uint64_t>(st.st_size)};
}

void PendingOutputs::commit() {
  for (const auto& [name, fd] : files_) {
    base::check_syscall(::renameat(dir_fd_, partial_name(name).c_str(), dir_fd_, name.c_str()), "rename",
                        partial_name(name));
  }
  for (auto& [name, fd] : files_) {
    if (fd >= 0) ::close(fd);
  }
  files_.clear();
}

}  // namespace stage::isomaker
