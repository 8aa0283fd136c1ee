// Running the target's own programs inside the tree being built: fork,
// chroot into the tree, exec. The installer stage already runs in its user
// namespace as "root" with the capabilities dpkg needs, so the child is root
// of the new tree with real owners; the sandbox has no network and the chroot
// hides every host path.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace stage::installer {

struct ChrootCommand {
  std::vector<std::string> argv;     // argv[0] is looked up in the tree's PATH
  std::vector<std::string> env;      // added to (or replacing) the defaults below
  std::optional<std::string> input;  // written to stdin; otherwise /dev/null
  std::string cwd = "/";
  std::chrono::seconds timeout{0};   // 0 = none; on expiry the child is killed
};

struct ChrootOutcome {
  int exit_code = -1;     // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string output;     // stdout and stderr interleaved; the last 64 KiB kept
  bool ok() const { return exit_code == 0 && !timed_out; }
};

// The environment every command starts with: PATH, HOME=/root, LC_ALL=C.UTF-8,
// DEBIAN_FRONTEND=noninteractive, DEBCONF_NONINTERACTIVE_SEEN=true and
// SOURCE_DATE_EPOCH when set in the stage's own environment.
std::vector<std::string> default_chroot_env();

// argv/envp for execve: pointers into `strings` (which must outlive them),
// then nullptr.
std::vector<char*> c_strings(std::vector<std::string>& strings);

// Runs `command` chrooted into `root` (a host path as the stage sees it) and
// waits for it. Throws base::Error only when the command cannot be started.
ChrootOutcome run_in_root(const std::filesystem::path& root, const ChrootCommand& command);

// run_in_root, then throws base::Error(kFailed) naming `what` with the exit
// status and the tail of the output when the command did not succeed.
std::string run_in_root_checked(const std::filesystem::path& root, const ChrootCommand& command,
                                const std::string& what);

}  // namespace stage::installer
