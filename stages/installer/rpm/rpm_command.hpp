// Running the host's rpm and rpmkeys inside stage-installer, not chrooted:
// rpm chroots into the tree itself for scriptlets. Package files and keys
// are fds the stage opened, handed to rpm as /proc/self/fd/N (the tree has
// its own /proc mounted, so the names also resolve while rpm is chrooted).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace stage::installer {

struct RpmOutcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;     // stdout
  std::string err;     // stderr; the last 64 KiB kept
  bool ok() const { return exit_code == 0; }
};

// Runs `argv` (argv[0] absolute) with `inherited` fds left open at their
// numbers, environment PATH, LC_ALL and SOURCE_DATE_EPOCH (when the stage
// has it). `poll` is called about twice a second while it runs; when it
// throws, the program is killed, reaped, and the exception goes on.
RpmOutcome run_rpm_program(const std::vector<std::string>& argv, const std::vector<int>& inherited,
                           const std::function<void()>& poll);

// "/proc/self/fd/N": the name of an inherited fd as the program opens it.
std::string fd_path(int fd);

}  // namespace stage::installer
