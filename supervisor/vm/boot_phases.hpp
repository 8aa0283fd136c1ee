// What `boot --check` and `boot --install` wait for, phase by phase: a login
// prompt (a disk image, an initrd, an ISO's live environment, the system
// installed from an ISO) or the installer's result line. The VMs come from a
// VmLauncher, so the sequences run as well against a scripted console.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/vm/boot_vm.hpp"
#include "supervisor/vm/vm_session.hpp"

namespace supervisor {

enum class BootPhase { kBoot, kLiveEnvironment, kInstaller, kInstalledSystem };

// "boot", "live environment", "installer", "installed system".
std::string_view to_string(BootPhase phase);

// The live installer's console lines (live/ prints them).
inline constexpr std::string_view kInstallerDone = "live-installer: installation complete";
inline constexpr std::string_view kInstallerFailed = "live-installer: installation failed: ";

// The installer's result: the line holding kInstallerDone, or a complete
// line holding kInstallerFailed (failure set; the line ends the reason, so
// an unfinished one is not taken yet).
std::optional<ConsoleSignal> find_installer_result(std::string_view raw);

struct PhaseOutcome {
  BootPhase phase = BootPhase::kBoot;
  bool reached = false;
  std::string line;                  // the prompt, or the installer's line
  std::chrono::milliseconds elapsed{};  // since the phase's VM started
  std::string failure;               // why not reached
  std::string console;               // the phase's console (raw)
  std::string qemu_stderr;
};

// Waits on `vm` for what `phase` waits for (a login prompt; the installer's
// result in kInstaller) for at most `timeout`. Leaves the VM running.
PhaseOutcome run_phase(VmSession& vm, BootPhase phase, std::chrono::seconds timeout);

// Starts `spec`, waits for a login prompt, stops the VM.
PhaseOutcome check_login(const VmLauncher& launch, const VmSpec& spec, BootPhase phase, std::chrono::seconds timeout);

struct InstallTimeouts {
  std::chrono::seconds installer{1800};  // from the live VM's start to the installer's result
  std::chrono::seconds login{300};       // from the installed system's start to its login prompt
};

// The machine that booted `live` (same firmware and variable store, same
// disk) restarted from its disk alone, writes kept out of the disk, its
// console appended to the same --serial-log.
VmSpec installed_system_spec(const VmSpec& live);

// `live` (the ISO as a CD-ROM and a blank disk) until the installer reports;
// on success the VM is stopped and installed_system_spec(live) started and
// waited for a login prompt. Returns the phases run; the last one says how
// it ended.
std::vector<PhaseOutcome> install_and_check(const VmLauncher& launch, const VmSpec& live,
                                            const InstallTimeouts& timeouts);

}  // namespace supervisor
