#include "stages/installer/ssh_host_keys.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <regex>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "stages/installer/os_config.hpp"

namespace stage::installer {
namespace {

constexpr const char* kUnitDir = "etc/systemd/system";

// ssh_host_<type>_key and ssh_host_<type>_key.pub, as ssh-keygen -A names them.
bool is_host_key_name(const std::string& name) {
  static const std::regex kName("^ssh_host_[a-z0-9]+_key(\\.pub)?$");
  return std::regex_match(name, kName);
}

std::vector<std::string> host_key_names(const std::filesystem::path& root) {
  base::UniqueFd dir = open_in_root(root, "etc/ssh", O_RDONLY | O_DIRECTORY);
  if (!dir) return {};
  const int fd = ::dup(dir.get());
  base::check_syscall(fd, "dup", (root / "etc/ssh").string());
  DIR* stream = ::fdopendir(fd);
  if (stream == nullptr) {
    ::close(fd);
    base::check_syscall(-1, "read directory", (root / "etc/ssh").string());
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    if (is_host_key_name(entry->d_name)) names.emplace_back(entry->d_name);
  }
  ::closedir(stream);
  return names;
}

std::string unit_text() {
  // ssh-keygen -A makes only the key types that are missing: a machine that
  // has its keys keeps them.
  return "# Made by os-image-composer: the image holds no SSH host key, so\n"
         "# every machine made from it gets its own.\n"
         "[Unit]\n"
         "Description=Make this machine's SSH host keys\n"
         "Before=ssh.service sshd.service\n"
         "\n"
         "[Service]\n"
         "Type=oneshot\n"
         "ExecStart=/usr/bin/ssh-keygen -A\n"
         "RemainAfterExit=yes\n"
         "\n"
         "[Install]\n"
         "WantedBy=multi-user.target\n";
}

}  // namespace

int remove_ssh_host_keys(const std::filesystem::path& root) {
  const std::vector<std::string> names = host_key_names(root);
  for (const std::string& name : names) remove_in_root(root, "etc/ssh", name.c_str());
  return static_cast<int>(names.size());
}

bool make_ssh_host_keys_at_first_boot(const std::filesystem::path& root) {
  if (!exists_in_root(root, "usr/sbin/sshd") || !exists_in_root(root, "usr/lib/systemd/systemd") ||
      !host_key_names(root).empty()) {
    return false;
  }
  const std::string unit = std::string(kUnitDir) + "/" + kSshHostKeysUnit;
  write_file_in_root(root, unit, unit_text(), 0644);
  link_in_root(root, std::string(kUnitDir) + "/multi-user.target.wants", kSshHostKeysUnit, "/" + unit);
  return true;
}

}  // namespace stage::installer
