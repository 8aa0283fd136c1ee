// Runs a program of the live environment (or, with `root`, of the installed
// system through chroot) and collects its output for error messages.
#pragma once

#include <string>
#include <vector>

namespace live {

struct CommandResult {
  int exit_code = -1;   // -1 when killed by a signal
  std::string output;   // stdout and stderr together
};

// `argv[0]` is looked up in PATH (inside `root` when given). `input` is the
// program's whole standard input.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = {},
                          const std::string& root = {});

// "e2fsck -fy /dev/vda2" for messages.
std::string command_line(const std::vector<std::string>& argv);

}  // namespace live
