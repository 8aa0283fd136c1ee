#include "stages/diskmaker/tools.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>

#include "base/child_process.hpp"
#include "base/error.hpp"

namespace stage::diskmaker {
namespace {

constexpr std::array<const char*, 4> kToolDirs = {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"};

}  // namespace

std::optional<std::filesystem::path> locate_tool(std::string_view program) {
  for (const char* dir : kToolDirs) {
    std::filesystem::path path = std::string(dir) + std::string(program);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

std::filesystem::path find_tool(std::string_view program) {
  return base::find_host_program(program, tool_package(program), kToolDirs);
}

std::vector<std::string> default_tool_env() {
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "TZ=UTC", "HOME=/tmp",
                                  "MTOOLS_SKIP_CHECK=1"};
  // Timestamps the tools make up themselves: mtools reads SOURCE_DATE_EPOCH,
  // mke2fs E2FSPROGS_FAKE_TIME.
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) {
    env.push_back(std::string("SOURCE_DATE_EPOCH=") + epoch);
    env.push_back(std::string("E2FSPROGS_FAKE_TIME=") + epoch);
  }
  return env;
}

ToolOutcome run_tool(const ToolCommand& command) {
  base::check(!command.argv.empty(), "run_tool needs a program");
  // A path is run as it is (the isomaker runs a tree's dynamic loader); a
  // name is a host program.
  const std::string& program = command.argv[0];
  std::string path = program.find('/') != std::string::npos ? program : find_tool(program).string();
  std::vector<std::string> env = default_tool_env();
  env.insert(env.end(), command.env.begin(), command.env.end());
  base::ChildOutcome child = base::run_child({.argv = command.argv,
                                              .path = std::move(path),
                                              .env = std::move(env),
                                              .input = command.input,
                                              .stdout_fd = command.stdout_fd,
                                              .inherit_fds = command.inherit_fds});
  return {.exit_code = child.exit_code, .signal = child.signal, .output = std::move(child.err)};
}

std::string run_tool_checked(const ToolCommand& command, std::string_view what) {
  ToolOutcome outcome = run_tool(command);
  if (outcome.ok()) return std::move(outcome.output);
  std::string message = "Failed to " + std::string(what) + ": " + command.argv[0];
  message += outcome.signal != 0 ? " was killed by signal " + std::to_string(outcome.signal)
                                 : " exited with status " + std::to_string(outcome.exit_code);
  if (outcome.exit_code == 127) message += " (it could not be started)";
  const std::string last = base::last_lines(outcome.output, 12);
  if (!last.empty()) message += "\n" + last;
  throw base::Error(base::ErrorKind::kFailed, std::move(message));
}

}  // namespace stage::diskmaker
