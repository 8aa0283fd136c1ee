#include "live/command.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdio>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace live {
namespace {

struct Pipe {
  base::UniqueFd read, write;
};

Pipe make_pipe() {
  std::array<int, 2> fds{};
  base::check_syscall(::pipe2(fds.data(), O_CLOEXEC), "create a pipe");
  return {base::UniqueFd(fds[0]), base::UniqueFd(fds[1])};
}

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::string& root, int in, int out) {
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  if (!root.empty() && (::chroot(root.c_str()) != 0 || ::chdir("/") != 0)) {
    std::perror(("live-installer: chroot " + root).c_str());
    ::_exit(127);
  }
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::perror(("live-installer: cannot run " + argv[0]).c_str());
  ::_exit(127);
}

std::string read_all(int fd) {
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input, const std::string& root) {
  base::check(!argv.empty(), "run_command needs a program");
  Pipe in = make_pipe(), out = make_pipe();
  const pid_t pid = base::check_syscall(::fork(), "fork for", argv[0]);
  if (pid == 0) exec_child(argv, root, in.read.get(), out.write.get());
  in.read.reset();
  out.write.reset();
  // Inputs are a line or two: they fit the pipe, so writing first cannot block.
  std::signal(SIGPIPE, SIG_IGN);
  (void)!::write(in.write.get(), input.data(), input.size());
  in.write.reset();
  CommandResult result;
  result.output = read_all(out.read.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string command_line(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

}  // namespace live
