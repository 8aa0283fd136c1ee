// Running one program as a child with an argv vector (never a shell) and
// waiting for it: the one fork/exec of the stages that run host programs
// (the disk maker's and ISO maker's tools, the signer's sbsign, the
// inspector's readers). The child gets stdin from `input` or /dev/null, the
// environment it is given and nothing else of the parent's fds but the ones
// named; it is killed and reaped if the caller leaves early.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace base {

struct ChildCommand {
  std::vector<std::string> argv;     // argv[0]: the program's path, or its name when `path` is set
  std::string path;                  // the file executed; empty: argv[0]
  std::vector<std::string> env;      // the child's whole environment
  std::optional<std::string> input;  // written to its stdin; otherwise /dev/null
  // Where its stdout goes: an fd of the caller's (stdout_fd >= 0), into
  // ChildOutcome::out (separate_stdout), or with stderr into ::err.
  int stdout_fd = -1;
  bool separate_stdout = false;
  // With separate_stdout: more than this of stdout kills the child and sets
  // `truncated` (a reader of untrusted input must not grow without end).
  std::size_t max_stdout = std::string::npos;
  std::vector<int> inherit_fds;               // kept at their own numbers
  std::vector<std::pair<int, int>> move_fds;  // (caller's fd, the child's number), e.g. {image, 3}
};

struct ChildOutcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;         // stdout, with separate_stdout
  std::string err;         // stderr (and stdout unless redirected or separate): the last 64 KiB
  bool truncated = false;  // stdout passed max_stdout: the child was killed
  bool ok() const { return exit_code == 0 && !truncated; }
  // "exited with status N" / "was killed by signal N" / "wrote more than N bytes".
  std::string status_text() const;
};

inline constexpr std::size_t kChildErrKept = 64 * 1024;

// Runs the command and waits. Throws base::Error only when it cannot start
// it (fork, pipes); a program that cannot be executed exits with 127.
ChildOutcome run_child(const ChildCommand& command);

// `program` in the first of `dirs` (each ending in '/') where it is
// executable; otherwise base::Error(kFailed) naming it, the directories and,
// when `package` is not empty, the Debian package to install.
std::filesystem::path find_host_program(std::string_view program, std::string_view package,
                                        std::span<const char* const> dirs);

// The last `lines` lines of `text` without its trailing newlines.
std::string last_lines(const std::string& text, std::size_t lines);

}  // namespace base
