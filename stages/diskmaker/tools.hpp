// The host programs the disk maker runs, where they come from, and running
// one as a child with an argv vector (never a shell). Only host tools run
// here; nothing from the image tree is ever executed.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stage::diskmaker {

// The Debian package providing `program` ("" when not in the table);
// defined with the program table in host_programs.cpp.
std::string_view tool_package(std::string_view program);

// The program's path in /usr/sbin, /usr/bin, /sbin or /bin, or nullopt.
std::optional<std::filesystem::path> locate_tool(std::string_view program);
// Like locate_tool but throws base::Error(kFailed) naming the program and its package.
std::filesystem::path find_tool(std::string_view program);

// What a request needs, for the supervisor's up-front check: (program,
// Debian package) pairs. `fs_types` are partition fsType values;
// `artifacts` are (type, compression) pairs; gz is pigz's (gzip's output
// differs from it).
std::vector<std::pair<std::string, std::string>> diskmaker_tools(
    const std::vector<std::string>& fs_types,
    const std::vector<std::pair<std::string, std::string>>& artifacts, bool verity = false);

struct ToolCommand {
  std::vector<std::string> argv;     // argv[0]: a program name, found with find_tool, or a path
  std::optional<std::string> input;  // written to stdin; otherwise /dev/null
  int stdout_fd = -1;                // stdout goes here; -1: captured with stderr
  std::vector<int> inherit_fds;      // fds the child keeps (for /proc/self/fd/N paths)
  std::vector<std::string> env;      // added to the default environment
};

struct ToolOutcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string output;  // stderr (and stdout unless redirected); the last 64 KiB
  bool ok() const { return exit_code == 0; }
};

// PATH, LC_ALL=C, TZ=UTC, HOME=/tmp, MTOOLS_SKIP_CHECK=1 (a partition at an
// offset has no disk geometry for mtools to check), and when the stage's
// SOURCE_DATE_EPOCH is set, it and E2FSPROGS_FAKE_TIME.
std::vector<std::string> default_tool_env();

// Runs the command and waits. Throws base::Error only when it cannot start.
ToolOutcome run_tool(const ToolCommand& command);

// run_tool, then throws base::Error(kFailed) "Failed to <what>: <program>
// exited with status N" with the output's tail unless it succeeded.
// Returns the output.
std::string run_tool_checked(const ToolCommand& command, std::string_view what);

}  // namespace stage::diskmaker
