#include "stages/installer/rpm/rpm_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/installer/chroot_exec.hpp"

namespace stage::installer {
namespace {

constexpr std::size_t kErrorKept = 64 * 1024;

std::vector<std::string> rpm_environment() {
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8"};
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) env.push_back(std::string("SOURCE_DATE_EPOCH=") + epoch);
  return env;
}

// Reads both pipes until they close, calling `poll` between reads.
void collect(int out_fd, int err_fd, RpmOutcome& outcome, const std::function<void()>& poll) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&outcome.out, &outcome.err};
  char buffer[8192];
  for (int open = 2; open > 0;) {
    poll();
    const int ready = ::poll(fds, 2, 500);
    if (ready < 0 && errno != EINTR) base::check_syscall(ready, "poll rpm's output");
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      sinks[i]->append(buffer, static_cast<std::size_t>(n));
    }
    if (outcome.err.size() > 2 * kErrorKept) outcome.err.erase(0, outcome.err.size() - kErrorKept);
  }
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

RpmOutcome run_rpm_program(const std::vector<std::string>& args, const std::vector<int>& inherited,
                           const std::function<void()>& poll) {
  base::check(!args.empty() && args[0].starts_with('/'), "run_rpm_program needs an absolute program path");
  int out_pipe[2], err_pipe[2];
  base::check_syscall(::pipe2(out_pipe, O_CLOEXEC), "pipe2");
  base::UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  base::check_syscall(::pipe2(err_pipe, O_CLOEXEC), "pipe2");
  base::UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  std::vector<std::string> argv_strings = args;
  std::vector<std::string> env_strings = rpm_environment();
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<char*> envp = c_strings(env_strings);

  const pid_t pid = base::check_syscall(::fork(), "fork", args[0]);
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(out_write.get(), 1);
    ::dup2(err_write.get(), 2);
    for (int fd : inherited) ::fcntl(fd, F_SETFD, 0);
    ::setsid();
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  out_write.reset();
  err_write.reset();
  RpmOutcome outcome;
  try {
    collect(out_read.get(), err_read.get(), outcome, poll);
  } catch (...) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    reap(pid);
    throw;
  }
  const int status = reap(pid);
  if (outcome.err.size() > kErrorKept) outcome.err.erase(0, outcome.err.size() - kErrorKept);
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  if (outcome.exit_code == 127 && outcome.err.empty()) outcome.err = "cannot execute " + args[0];
  return outcome;
}

}  // namespace stage::installer
