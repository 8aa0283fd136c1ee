// A VM started for a check: its serial console captured and read until a
// watcher accepts a line, QEMU exits, a deadline passes or SIGINT, SIGTERM
// or SIGHUP arrives. The sequences of boot_phases.hpp drive VmSession
// through a VmLauncher, so tests can give them a scripted console instead
// of QEMU.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "supervisor/vm/boot_vm.hpp"

namespace supervisor {

class SignalGate;

// A console line a watcher accepted; `failure` when the line reports one.
struct ConsoleSignal {
  std::string line;
  bool failure = false;
};

// Looks at raw console text and returns the first line it accepts. The text
// starts at the last line that was incomplete when the watcher last looked,
// so a line arriving in pieces is seen whole.
using ConsoleWatcher = std::function<std::optional<ConsoleSignal>(std::string_view raw)>;

enum class WaitEnd { kSeen, kTimedOut, kVmExited, kInterrupted };

struct ConsoleWait {
  WaitEnd end = WaitEnd::kTimedOut;
  ConsoleSignal seen;                 // kSeen
  std::string why;                    // kVmExited: "exited with status 1"; kInterrupted: "SIGTERM"
  std::chrono::milliseconds elapsed{};  // since the VM started
};

class VmSession {
 public:
  virtual ~VmSession() = default;
  virtual ConsoleWait wait_for(const ConsoleWatcher& watcher, std::chrono::milliseconds timeout) = 0;
  // SIGTERM (QEMU flushes its drives and removes its snapshot overlay), then
  // SIGKILL after a grace period. Nothing to do once QEMU has exited.
  virtual void stop() = 0;
  virtual const std::string& console() const = 0;  // raw; the oldest output is dropped past 1 MiB
  virtual const std::string& qemu_stderr() const = 0;
};

using VmLauncher = std::function<std::unique_ptr<VmSession>(const VmSpec& spec)>;

// Starts qemu_argv(spec) (spec.console must be kCapture). Signals are taken
// from `signals`, which must outlive the session. QEMU never outlives the
// session (nor this process: PR_SET_PDEATHSIG).
std::unique_ptr<VmSession> start_qemu_session(const VmSpec& spec, SignalGate& signals);

}  // namespace supervisor
