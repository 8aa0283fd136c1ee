// What the spine tests need around the CLI: run it as a subprocess (argv, no
// shell) with pipes on stdin/stdout/stderr, read its stderr while it runs,
// send it signals, and look at processes and mounts through /proc.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"

namespace spine {

// The built CLI ($OIC_CLI) and the folder of the fake stage-resolver.
std::filesystem::path cli_path();
std::filesystem::path fake_stage_dir();

class CliProcess {
 public:
  // Starts `os-image-composer ARGS...`; `env` entries (NAME=value) are added
  // to this process's environment; `input` is written to its stdin, which is
  // then closed.
  CliProcess(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
             const std::string& input = {});
  ~CliProcess();
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Reads stderr until `pattern` matches it (returning the match and its groups) or
  // `limit` passes (nullopt).
  std::optional<std::vector<std::string>> wait_for_stderr(const std::regex& pattern, std::chrono::milliseconds limit) {
    return wait_for(err_, pattern, limit);
  }
  std::optional<std::vector<std::string>> wait_for_stdout(const std::regex& pattern, std::chrono::milliseconds limit) {
    return wait_for(out_, pattern, limit);
  }
  // Waits for the exit (killing the process after `limit`); returns the raw
  // wait status, or nullopt when it had to be killed.
  std::optional<int> wait(std::chrono::milliseconds limit);
  void signal(int sig) const;

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  void pump(int timeout_ms);
  std::optional<std::vector<std::string>> wait_for(const std::string& text, const std::regex& pattern,
                                      std::chrono::milliseconds limit);

  pid_t pid_ = -1;
  bool reaped_ = false;
  base::UniqueFd stdout_, stderr_;
  std::string out_, err_;
};

// Runs the CLI to the end (killed after `limit`) and returns its exit code
// (-1 when it did not exit normally), with stdout and stderr.
struct CliResult {
  int exit_code = -1;
  std::string out, err;
};
CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                  const std::string& input = {},
                  std::chrono::milliseconds limit = std::chrono::seconds(60));

// "Name:\tvalue" lines of /proc/PID/status.
std::map<std::string, std::string> proc_status(pid_t pid);
// The target of /proc/PID/ns/NAME ("user:[4026531837]"), empty when gone.
std::string namespace_of(pid_t pid, const std::string& name);
// Every live process whose parent chain reaches `ancestor` (not itself).
std::vector<pid_t> descendants_of(pid_t ancestor);
// Every live process in pid namespace `ns` (a namespace_of(pid, "pid") value).
std::vector<pid_t> processes_in_pid_namespace(const std::string& ns);
// The mount points of /proc/PID/mountinfo (of /proc/self with 0).
std::vector<std::string> mount_points(pid_t pid = 0);
// What keeps namespace `ns` (a namespace_of(pid, kind) value) alive, and with
// a mount namespace its mounts: processes in it, open fds of it, nsfs bind
// mounts of it in the caller's mount table. Empty once it is gone.
std::vector<std::string> namespace_holders(const std::string& kind, const std::string& ns);
bool process_alive(pid_t pid);

}  // namespace spine
