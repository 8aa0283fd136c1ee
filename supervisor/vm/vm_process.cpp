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

VmScratch::VmScratch() {
  std::string pattern = (fs::temp_directory_path() / "oic-boot-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) base::check_syscall(-1, "create a temporary directory", pattern);
  dir_ = pattern;
}

VmScratch::VmScratch(const fs::path& vars_template) : VmScratch() {
  std::error_code ec;
  fs::copy_file(vars_template, vars(), ec);
  if (ec) {
    fs::remove_all(dir_, ec);
    throw base::Error(base::ErrorKind::kFailed, "Failed to copy firmware variables '" + vars_template.string() +
                                                  "' to '" + dir_.string() + "': " + ec.message());
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
      vm.stop(kVmStopGrace);
      throw base::Error(base::ErrorKind::kFailed, "Stopped the VM on " + signal_name(sig));
    }
  }
  const int status = vm.wait();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace supervisor
