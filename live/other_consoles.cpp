#include "live/other_consoles.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/unique_fd.hpp"

namespace live {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> words_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// Only plain device names: the list comes from sysfs, but a name is joined
// to a directory path below.
bool is_device_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

}  // namespace

std::vector<std::string> active_consoles(const fs::path& sys) {
  std::vector<std::string> names;
  for (std::string name : words_of(sys / "class/tty/console/active")) {
    if (name == "tty0") {
      const std::vector<std::string> foreground = words_of(sys / "class/tty/tty0/active");
      if (foreground.empty()) continue;
      name = foreground.front();
    }
    if (is_device_name(name) && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

void tell_other_consoles(const std::string& line, const fs::path& sys, const fs::path& dev,
                         const std::string& own_tty) {
  const std::string text = line + "\n";
  for (const std::string& name : active_consoles(sys)) {
    if (name == own_tty) continue;
    base::UniqueFd fd(::open((dev / name).c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) continue;
    // A short or failed write loses one console's copy, nothing else.
    [[maybe_unused]] const ssize_t written = ::write(fd.get(), text.data(), text.size());
  }
}

std::string terminal_name(int fd) {
  const char* path = ::ttyname(fd);
  if (path == nullptr) return {};
  return fs::path(path).filename().string();
}

}  // namespace live
