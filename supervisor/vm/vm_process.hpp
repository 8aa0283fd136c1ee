// The process side of `boot`: QEMU as a child in its own process group,
// signals turned into poll events, the terminal given back afterwards.
// run_vm_interactive() and VmScratch (declared in boot_vm.hpp) are built
// from these in vm_process.cpp, VmSession in vm_session.cpp.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <termios.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"

namespace supervisor {

// How long QEMU gets to exit on SIGTERM before SIGKILL.
inline constexpr auto kVmStopGrace = std::chrono::seconds(10);

// Blocks SIGINT, SIGTERM and SIGHUP while a VM runs and delivers them through
// a signalfd, so the wait loop handles them like any other event. The
// previous signal mask comes back when it goes.
class SignalGate {
 public:
  SignalGate();
  ~SignalGate();
  SignalGate(const SignalGate&) = delete;
  SignalGate& operator=(const SignalGate&) = delete;

  int fd() const { return fd_.get(); }
  // The signal that arrived, or 0.
  int take();

 private:
  sigset_t set_ {};
  sigset_t previous_ {};
  base::UniqueFd fd_;
};

// The child's fds 0-2 (-1 keeps this process's own).
struct ChildStdio {
  int in = -1;
  int out = -1;
  int err = -1;
  bool take_terminal = false;  // make the child the terminal's foreground process group
};

// QEMU in its own process group. The destructor kills the group and reaps
// it, so no path out of a VM run leaves QEMU behind; PR_SET_PDEATHSIG covers
// this process dying.
class VmProcess {
 public:
  // Starts args[0] (an absolute path) with this environment, TMPDIR
  // replaced by `temp_dir` unless it is empty.
  VmProcess(const std::vector<std::string>& args, const std::filesystem::path& temp_dir, const ChildStdio& io);
  ~VmProcess();
  VmProcess(const VmProcess&) = delete;
  VmProcess& operator=(const VmProcess&) = delete;

  // Readable when QEMU has exited.
  int pidfd() const { return pidfd_.get(); }
  bool running() const { return !reaped_; }
  void kill_group(int sig = SIGKILL) const;
  // Reaps QEMU; returns its wait status.
  int wait();
  // SIGTERM lets QEMU flush the image; SIGKILL after the grace period.
  int stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  base::UniqueFd pidfd_;
  bool reaped_ = false;
};

// Gives the terminal back to this process group and restores its modes
// (QEMU puts it in raw mode and cannot undo that when it is killed).
class TerminalGuard {
 public:
  TerminalGuard();
  ~TerminalGuard();
  TerminalGuard(const TerminalGuard&) = delete;
  TerminalGuard& operator=(const TerminalGuard&) = delete;
  // False when stdin is not a terminal this process group owns.
  bool active() const { return active_; }

 private:
  bool active_ = false;
  termios saved_ {};
};

// "SIGTERM", or "signal N" for a number without a name.
std::string signal_name(int sig);

}  // namespace supervisor
