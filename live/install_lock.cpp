#include "live/install_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <fstream>
#include <ostream>

#include "base/error.hpp"

namespace live {

base::UniqueFd take_install_lock(const std::filesystem::path& run_dir, std::ostream& out) {
  std::filesystem::create_directories(run_dir);
  const std::filesystem::path path = run_dir / "lock";
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  base::check_syscall(fd.get(), "open", path.string());
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
  out << "live-installer: an installation is running on another console; waiting for it" << std::endl;
  while (::flock(fd.get(), LOCK_EX) != 0) base::check(errno == EINTR, "Failed to lock " + path.string());
  return fd;
}

std::optional<std::string> recorded_outcome(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / "outcome");
  std::string line;
  if (!std::getline(in, line) || line.empty()) return std::nullopt;
  return line;
}

void record_outcome(const std::filesystem::path& run_dir, const std::string& line) {
  std::ofstream(run_dir / "outcome", std::ios::trunc) << line << "\n";
}

}  // namespace live
