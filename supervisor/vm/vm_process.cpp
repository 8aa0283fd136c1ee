#include "supervisor/vm/vm_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "base/error.hpp"
#include "supervisor/vm/boot_vm.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using base::UniqueFd;
using Clock = std::chrono::steady_clock;

// Console text kept in memory for the tail; older output is dropped.
constexpr std::size_t kConsoleKeep = 1 << 20;
constexpr std::size_t kStderrKeep = 64 << 10;
constexpr auto kStopGrace = std::chrono::seconds(10);

[[noreturn]] void exec_child(std::vector<char*>& argv, std::vector<char*>& envp, const ChildStdio& io, pid_t parent) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  ::setpgid(0, 0);
  if (io.take_terminal) {
    ::signal(SIGTTOU, SIG_IGN);
    ::tcsetpgrp(STDIN_FILENO, ::getpid());
    ::signal(SIGTTOU, SIG_DFL);
  }
  const std::array<int, 3> from = {io.in, io.out, io.err};
  for (int target = 0; target < 3; ++target) {
    if (from[target] < 0) continue;
    // dup2 onto the same number keeps close-on-exec: clear it by hand then.
    if (from[target] == target ? ::fcntl(target, F_SETFD, 0) < 0 : ::dup2(from[target], target) < 0) ::_exit(127);
  }
  ::close_range(3, ~0U, 0);
  ::execve(argv[0], argv.data(), envp.data());
  ::_exit(127);
}

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  base::check_syscall(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), "create a pipe for", "qemu");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Appends what is readable on `fd` to `buffer`, keeping at most `keep`
// bytes; returns the bytes dropped from the front. EOF or EAGAIN ends it.
std::size_t drain(int fd, std::string& buffer, std::size_t keep) {
  std::array<char, 16384> chunk;
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    buffer.append(chunk.data(), static_cast<std::size_t>(n));
  }
  if (buffer.size() <= keep) return 0;
  const std::size_t dropped = buffer.size() - keep;
  buffer.erase(0, dropped);
  return dropped;
}

// Reads new console output and looks for the prompt from `scan_from`, the
// start of the last line seen (a prompt may arrive in pieces).
void read_console(int fd, LoginCheck& result, std::size_t& scan_from) {
  const std::size_t dropped = drain(fd, result.console, kConsoleKeep);
  scan_from = scan_from > dropped ? scan_from - dropped : 0;
  if (auto prompt = find_login_prompt(std::string_view(result.console).substr(scan_from))) {
    result.reached = true;
    result.prompt = *prompt;
  }
  const auto nl = result.console.rfind('\n');
  if (nl != std::string::npos) scan_from = std::max(scan_from, nl + 1);
}


}  // namespace

SignalGate::SignalGate() {
  sigemptyset(&set_);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, sig);
  base::check_syscall(::sigprocmask(SIG_BLOCK, &set_, &previous_), "block signals");
  fd_ = UniqueFd(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd_) {
    const int e = errno;
    ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
    errno = e;
    base::check_syscall(-1, "create a signalfd");
  }
}

SignalGate::~SignalGate() { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }

int SignalGate::take() {
  signalfd_siginfo info {};
  return ::read(fd_.get(), &info, sizeof info) == sizeof info ? static_cast<int>(info.ssi_signo) : 0;
}

VmProcess::VmProcess(const std::vector<std::string>& args, const fs::path& temp_dir, const ChildStdio& io) {
  std::vector<std::string> strings = args;
  std::vector<char*> argv;
  for (auto& a : strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (temp_dir.empty() || !std::string_view(*e).starts_with("TMPDIR=")) env_strings.emplace_back(*e);
  }
  if (!temp_dir.empty()) env_strings.push_back("TMPDIR=" + temp_dir.string());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = base::check_syscall(::fork(), "start", args.front());
  if (pid_ == 0) exec_child(argv, envp, io, parent);
  ::setpgid(pid_, pid_);  // also done by the child; whichever runs first wins
  const long pidfd = ::syscall(SYS_pidfd_open, pid_, 0);
  if (pidfd < 0) {
    const int e = errno;
    kill_group();
    wait();
    errno = e;
    base::check_syscall(-1, "open a pidfd for", args.front());
  }
  pidfd_ = UniqueFd(static_cast<int>(pidfd));
}

VmProcess::~VmProcess() {
  if (!reaped_) {
    kill_group();
    wait();
  }
}

void VmProcess::kill_group(int sig) const {
  ::kill(-pid_, sig);
  ::kill(pid_, sig);  // in case the child has not reached setpgid yet
}

int VmProcess::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

int VmProcess::stop(std::chrono::milliseconds grace) {
  kill_group(SIGTERM);
  pollfd p{pidfd_.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(grace.count())) == 0) kill_group(SIGKILL);
  return wait();
}

TerminalGuard::TerminalGuard() {
  active_ = ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp() &&
            ::tcgetattr(STDIN_FILENO, &saved_) == 0;
}

TerminalGuard::~TerminalGuard() {
  if (!active_) return;
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGTTOU, &ignore, &previous);
  ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
  ::tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_);
  ::sigaction(SIGTTOU, &previous, nullptr);
}

std::string signal_name(int sig) {
  const char* name = ::sigabbrev_np(sig);
  return name ? std::string("SIG") + name : "signal " + std::to_string(sig);
}

VmScratch::VmScratch(const fs::path& vars_template) {
  std::string pattern = (fs::temp_directory_path() / "oic-boot-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) base::check_syscall(-1, "create a temporary directory", pattern);
  dir_ = pattern;
  std::error_code ec;
  fs::copy_file(vars_template, vars(), ec);
  if (ec) {
    fs::remove_all(dir_, ec);
    throw base::Error(base::ErrorKind::kFailed, "Failed to copy firmware variables '" + vars_template.string() +
                                                  "' to '" + pattern + "': " + ec.message());
  }
}

VmScratch::~VmScratch() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

int run_vm_interactive(const VmSpec& spec) {
  base::check(spec.console == ConsoleMode::kTerminal, "run_vm_interactive needs ConsoleMode::kTerminal");
  const std::vector<std::string> argv = qemu_argv(spec);
  SignalGate signals;
  TerminalGuard terminal;
  VmProcess vm(argv, spec.temp_dir, ChildStdio{.take_terminal = terminal.active()});
  pollfd fds[2] = {{vm.pidfd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      base::check_syscall(-1, "wait for", "qemu");
    }
    if (fds[0].revents != 0) break;
    if (fds[1].revents != 0) {
      const int sig = signals.take();
      if (sig == 0) continue;
      vm.stop(kStopGrace);
      throw base::Error(base::ErrorKind::kFailed, "Stopped the VM on " + signal_name(sig));
    }
  }
  const int status = vm.wait();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

LoginCheck wait_for_login(const VmSpec& spec, std::chrono::seconds timeout) {
  base::check(spec.console == ConsoleMode::kCapture, "wait_for_login needs ConsoleMode::kCapture");
  const std::vector<std::string> argv = qemu_argv(spec);
  SignalGate signals;
  auto [console_read, console_write] = make_pipe();
  auto [err_read, err_write] = make_pipe();
  const UniqueFd null_fd(base::check_syscall(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null"));
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  VmProcess vm(argv, spec.temp_dir, ChildStdio{.in = null_fd.get(), .out = console_write.get(), .err = err_write.get()});
  console_write.reset();
  err_write.reset();

  LoginCheck result;
  std::size_t scan_from = 0;
  pollfd fds[4] = {{console_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}, {vm.pidfd(), POLLIN, 0},
                   {signals.fd(), POLLIN, 0}};
  while (!result.reached) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.failure = "no login prompt on the serial console after " + std::to_string(timeout.count()) + " s";
      break;
    }
    const int ready = ::poll(fds, 4, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    base::check_syscall(ready, "wait for", "qemu");
    if (fds[0].revents != 0) read_console(console_read.get(), result, scan_from);
    if (fds[1].revents != 0) drain(err_read.get(), result.qemu_stderr, kStderrKeep);
    // A hung-up pipe stays readable: stop polling it.
    if (fds[0].revents & POLLHUP) fds[0].fd = -1;
    if (fds[1].revents & POLLHUP) fds[1].fd = -1;
    if (result.reached) break;
    if (fds[2].revents != 0) {
      const int status = vm.wait();
      read_console(console_read.get(), result, scan_from);
      drain(err_read.get(), result.qemu_stderr, kStderrKeep);
      if (!result.reached) result.failure = "qemu " + (WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                                                   : "was killed by " + signal_name(WTERMSIG(status))) +
                           " before a login prompt appeared";
      break;
    }
    if (fds[3].revents != 0) {
      if (const int sig = signals.take(); sig != 0) {
        result.failure = "interrupted by " + signal_name(sig) + " before a login prompt appeared";
        break;
      }
    }
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (vm.running()) vm.stop(kStopGrace);  // SIGTERM: QEMU removes its snapshot overlay itself
  return result;
}

}  // namespace supervisor
