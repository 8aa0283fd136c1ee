#include "stages/installer/chroot_exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::installer {
namespace {

constexpr std::size_t kOutputKept = 64 * 1024;

std::vector<std::string> merged_env(const std::vector<std::string>& extra) {
  std::vector<std::string> env = default_chroot_env();
  for (const std::string& entry : extra) {
    const std::string key = entry.substr(0, entry.find('=') + 1);
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(key); });
    env.push_back(entry);
  }
  return env;
}

std::string tail(const std::string& text, std::size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

}  // namespace

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> default_chroot_env() {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/root",
      "LC_ALL=C.UTF-8",
      "LANG=C.UTF-8",
      "DEBIAN_FRONTEND=noninteractive",
      "DEBCONF_NONINTERACTIVE_SEEN=true",
      "DEBCONF_NOWARNINGS=yes",
  };
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) env.push_back(std::string("SOURCE_DATE_EPOCH=") + epoch);
  return env;
}

ChrootOutcome run_in_root(const std::filesystem::path& root, const ChrootCommand& command) {
  base::require(!command.argv.empty(), "run_in_root: empty command");
  int out_pipe[2];
  int in_pipe[2];
  base::check_syscall(::pipe2(out_pipe, O_CLOEXEC), "pipe2");
  base::UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  base::check_syscall(::pipe2(in_pipe, O_CLOEXEC), "pipe2");
  base::UniqueFd in_read(in_pipe[0]), in_write(in_pipe[1]);

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> argv_strings = command.argv;
  std::vector<std::string> env_strings = merged_env(command.env);
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<char*> envp = c_strings(env_strings);
  const std::string root_path = root.string();
  const bool has_input = command.input.has_value();

  const pid_t pid = ::fork();
  base::check_syscall(pid, "fork", command.argv[0]);
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(has_input ? in_read.get() : null_fd, 0);
    ::dup2(out_write.get(), 1);
    ::dup2(out_write.get(), 2);
    ::setsid();
    if (::chroot(root_path.c_str()) != 0 || ::chdir(command.cwd.c_str()) != 0) {
      const char* msg = "run_in_root: cannot chroot into the image tree\n";
      (void)!::write(2, msg, std::strlen(msg));
      ::_exit(126);
    }
    ::umask(022);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(argv[0], argv.data(), envp.data());
    const char* msg = "run_in_root: cannot execute ";
    (void)!::write(2, msg, std::strlen(msg));
    (void)!::write(2, argv[0], std::strlen(argv[0]));
    (void)!::write(2, "\n", 1);
    ::_exit(127);
  }
  out_write.reset();
  in_read.reset();
  if (has_input) {
    // Small inputs (passwords, scripts); a pipe holds 64 KiB, larger ones
    // would need the poll loop to write as well.
    const std::string& data = *command.input;
    std::size_t written = 0;
    while (written < data.size()) {
      const ssize_t n = ::write(in_write.get(), data.data() + written, data.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
  }
  in_write.reset();

  ChrootOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + command.timeout;
  char buffer[8192];
  for (;;) {
    int wait_ms = -1;
    if (command.timeout.count() > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        outcome.timed_out = true;
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    pollfd pfd{out_read.get(), POLLIN, 0};
    const int ready = ::poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    const ssize_t n = ::read(out_read.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    outcome.output.append(buffer, static_cast<std::size_t>(n));
    if (outcome.output.size() > 2 * kOutputKept) outcome.output.erase(0, outcome.output.size() - kOutputKept);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (outcome.output.size() > kOutputKept) outcome.output.erase(0, outcome.output.size() - kOutputKept);
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  return outcome;
}

std::string run_in_root_checked(const std::filesystem::path& root, const ChrootCommand& command,
                                const std::string& what) {
  ChrootOutcome outcome = run_in_root(root, command);
  if (outcome.ok()) return std::move(outcome.output);
  std::string status = outcome.timed_out      ? "timed out after " + std::to_string(command.timeout.count()) + " s"
                       : outcome.signal != 0 ? "was killed by signal " + std::to_string(outcome.signal)
                                              : "exited with status " + std::to_string(outcome.exit_code);
  std::string joined;
  for (const std::string& a : command.argv) joined += (joined.empty() ? "" : " ") + a;
  throw base::Error(base::ErrorKind::kFailed, what + ": '" + joined + "' " + status + "\n" + tail(outcome.output, 4000));
}

}  // namespace stage::installer
