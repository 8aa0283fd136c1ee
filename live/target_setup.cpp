#include "live/target_setup.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "live/command.hpp"

namespace live {
namespace {

namespace fs = std::filesystem;

bool is_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.flush();
  base::check(out.good(), "Failed to write " + path.string());
}

// /etc/hosts without its 127.0.1.1 lines, then the one naming `hostname`.
std::string hosts_with(const std::string& hosts, const std::string& hostname) {
  std::istringstream in(hosts);
  std::string line, out;
  while (std::getline(in, line)) {
    if (!line.starts_with("127.0.1.1")) out += line + "\n";
  }
  return out + "127.0.1.1\t" + hostname + "\n";
}

void run_in_target(const fs::path& root, const std::vector<std::string>& argv, const std::string& input = {}) {
  const CommandResult result = run_command(argv, input, root.string());
  if (result.exit_code == 0) return;
  base::fail(base::ErrorKind::kFailed, "'" + command_line(argv) + "' in the installed system failed (exit code " +
                                           std::to_string(result.exit_code) + "):\n" + result.output);
}

void create_user(const fs::path& root, const TargetSettings& settings) {
  std::vector<std::string> useradd = {"useradd", "-m"};
  if (fs::exists(root / "bin/bash")) useradd.insert(useradd.end(), {"-s", "/bin/bash"});
  useradd.push_back(settings.user);
  run_in_target(root, useradd);
  if (!settings.password.empty()) run_in_target(root, {"chpasswd"}, settings.user + ":" + settings.password + "\n");
}

void apply_mounted(const fs::path& root, const TargetSettings& settings) {
  if (!settings.hostname.empty()) write_hostname(root, settings.hostname);
  if (!settings.user.empty()) create_user(root, settings);
}

}  // namespace

void check_hostname(const std::string& hostname) {
  bool ok = !hostname.empty() && hostname.size() <= 253;
  for (std::size_t start = 0; ok && start <= hostname.size();) {
    const std::size_t dot = std::min(hostname.find('.', start), hostname.size());
    ok = is_label(std::string_view(hostname).substr(start, dot - start));
    start = dot + 1;
  }
  base::require(ok, "host name '" + hostname + "' is not valid (letters, digits and '-', labels separated by '.')");
}

void check_user_name(const std::string& user) {
  const bool ok = !user.empty() && user.size() <= 32 && (std::islower(static_cast<unsigned char>(user[0])) || user[0] == '_') &&
                  std::all_of(user.begin(), user.end(), [](unsigned char c) {
                    return std::islower(c) || std::isdigit(c) || c == '_' || c == '-';
                  });
  base::require(ok, "user name '" + user + "' is not valid (a lowercase letter or '_', then up to 31 of a-z 0-9 _ -)");
}

void write_hostname(const fs::path& root, const std::string& hostname) {
  check_hostname(hostname);
  write_text(root / "etc/hostname", hostname + "\n");
  write_text(root / "etc/hosts", hosts_with(read_text(root / "etc/hosts"), hostname));
}

void apply_settings(const std::string& partition, const std::string& fs_type, const fs::path& mount_point,
                    const TargetSettings& settings) {
  fs::create_directories(mount_point);
  base::check_syscall(::mount(partition.c_str(), mount_point.c_str(), fs_type.c_str(), 0, nullptr), "mount", partition);
  try {
    apply_mounted(mount_point, settings);
  } catch (...) {
    ::umount(mount_point.c_str());
    throw;
  }
  base::check_syscall(::umount(mount_point.c_str()), "unmount", mount_point.string());
}

}  // namespace live
