#include "base/dir_entries.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "base/error.hpp"

namespace base {

std::vector<std::string> sorted_entry_names(int dir_fd, const std::string& shown) {
  const int copy = check_syscall(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0), "duplicate the directory fd of", shown);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(copy), ::closedir);
  if (!dir) {
    ::close(copy);
    check_syscall(-1, "list", shown);
  }
  ::rewinddir(dir.get());  // the duplicate shares the original's offset
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  check_syscall(errno == 0 ? 0 : -1, "list", shown);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace base
