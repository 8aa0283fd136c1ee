#include "supervisor/vm/boot_phases.hpp"

#include <sstream>

namespace supervisor {
namespace {

// After its result line the installer reboots the guest, which ends QEMU
// (-no-reboot); it gets this long to do so before it is stopped.
constexpr auto kInstallerSettle = std::chrono::seconds(15);

std::optional<ConsoleSignal> find_login(std::string_view raw) {
  if (auto prompt = find_login_prompt(raw)) return ConsoleSignal{*prompt};
  return std::nullopt;
}

std::string trimmed(const std::string& line) {
  const auto first = line.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return line.substr(first, line.find_last_not_of(" \t") - first + 1);
}

std::string what_is_awaited(BootPhase phase) {
  return phase == BootPhase::kInstaller ? "the installer reported its result" : "a login prompt appeared";
}

std::string failure_text(const ConsoleWait& wait, BootPhase phase, std::chrono::seconds timeout) {
  switch (wait.end) {
    case WaitEnd::kSeen: {
      if (!wait.seen.failure) return {};
      const auto at = wait.seen.line.find(kInstallerFailed);
      return "the installer failed: " + wait.seen.line.substr(at + kInstallerFailed.size());
    }
    case WaitEnd::kTimedOut:
      return (phase == BootPhase::kInstaller ? "no result from the installer" : std::string("no login prompt")) +
             " on the serial console after " + std::to_string(timeout.count()) + " s";
    case WaitEnd::kVmExited:
      return "qemu " + wait.why + " before " + what_is_awaited(phase);
    case WaitEnd::kInterrupted:
      return "interrupted by " + wait.why + " before " + what_is_awaited(phase);
  }
  return "unknown end of the wait";
}

PhaseOutcome interrupted_before(BootPhase phase, const ConsoleWait& wait) {
  PhaseOutcome outcome{.phase = phase};
  outcome.failure = "interrupted by " + wait.why + " before the " + std::string(to_string(phase)) + " started";
  return outcome;
}

}  // namespace

std::string_view to_string(BootPhase phase) {
  static constexpr std::string_view kNames[] = {"boot", "live environment", "installer", "installed system"};
  return kNames[static_cast<std::size_t>(phase)];
}

std::optional<ConsoleSignal> find_installer_result(std::string_view raw) {
  const std::string text = clean_console_text(raw);
  std::istringstream lines(text);
  std::size_t end = 0;
  for (std::string line; std::getline(lines, line);) {
    end += line.size() + 1;
    if (line.find(kInstallerDone) != std::string::npos) return ConsoleSignal{trimmed(line)};
    const bool complete = end <= text.size();  // getline found a '\n'
    if (complete && line.find(kInstallerFailed) != std::string::npos) return ConsoleSignal{trimmed(line), true};
  }
  return std::nullopt;
}

PhaseOutcome run_phase(VmSession& vm, BootPhase phase, std::chrono::seconds timeout) {
  const ConsoleWatcher watcher = phase == BootPhase::kInstaller ? find_installer_result : find_login;
  const ConsoleWait wait = vm.wait_for(watcher, timeout);
  PhaseOutcome outcome{.phase = phase};
  outcome.reached = wait.end == WaitEnd::kSeen && !wait.seen.failure;
  outcome.line = wait.seen.line;
  outcome.elapsed = wait.elapsed;
  outcome.failure = failure_text(wait, phase, timeout);
  outcome.console = vm.console();
  outcome.qemu_stderr = vm.qemu_stderr();
  return outcome;
}

PhaseOutcome check_login(const VmLauncher& launch, const VmSpec& spec, BootPhase phase, std::chrono::seconds timeout) {
  const std::unique_ptr<VmSession> vm = launch(spec);
  PhaseOutcome outcome = run_phase(*vm, phase, timeout);
  vm->stop();
  return outcome;
}

VmSpec installed_system_spec(const VmSpec& live) {
  VmSpec spec = live;
  spec.cdrom.clear();
  spec.snapshot = true;
  spec.serial_log_append = true;
  return spec;
}

std::vector<PhaseOutcome> install_and_check(const VmLauncher& launch, const VmSpec& live,
                                            const InstallTimeouts& timeouts) {
  std::vector<PhaseOutcome> phases;
  {
    const std::unique_ptr<VmSession> vm = launch(live);
    phases.push_back(run_phase(*vm, BootPhase::kInstaller, timeouts.installer));
    if (!phases.back().reached) return phases;
    const ConsoleWait settle = vm->wait_for([](std::string_view) { return std::nullopt; }, kInstallerSettle);
    vm->stop();
    if (settle.end == WaitEnd::kInterrupted) {
      phases.push_back(interrupted_before(BootPhase::kInstalledSystem, settle));
      return phases;
    }
  }
  phases.push_back(check_login(launch, installed_system_spec(live), BootPhase::kInstalledSystem, timeouts.login));
  return phases;
}

}  // namespace supervisor
