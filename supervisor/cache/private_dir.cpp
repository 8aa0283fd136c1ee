#include "supervisor/cache/private_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {
namespace {

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

std::optional<std::string> make_private_dir(const std::filesystem::path& dir, mode_t allowed) {
  if (dir.has_parent_path()) base::make_directories(dir.parent_path());
  const bool created = ::mkdir(dir.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) base::check_syscall(-1, "create directory", dir.string());
  base::UniqueFd fd(base::check_syscall(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open directory", dir.string()));
  // A new one gets exactly `allowed` (e.g. 0711: a root caller's stages, a
  // subordinate uid, pass through packages/ to their read-only bind).
  if (created) base::check_syscall(::fchmod(fd.get(), allowed & 0777), "set the mode of", dir.string());
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "inspect", dir.string());
  const mode_t mode = st.st_mode & 07777;
  if ((mode & ~allowed) == 0) return std::nullopt;
  base::check_syscall(::fchmod(fd.get(), mode & allowed), "restrict the mode of", dir.string());
  return "Restricted '" + dir.string() + "' from mode " + octal(mode) + " to " + octal(mode & allowed) +
         ": other users must not reach what the cache holds";
}

}  // namespace supervisor
