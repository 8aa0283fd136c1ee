// `boot IMAGE`: starts the image in QEMU with UEFI firmware, its serial
// console on the terminal; with --check, waits for the login prompt instead
// and reports whether it came (boot_vm.hpp does the work).
#include <cstdio>
#include <string>

#include "base/error.hpp"
#include "supervisor/vm/boot_vm.hpp"
#include "supervisor/cli/cli.hpp"

namespace supervisor::cli {
namespace {
namespace fs = std::filesystem;

constexpr int kDefaultTimeout = 300;
constexpr std::size_t kTailLines = 40;

void add_boot_options(po::options_description& options) {
  options.add_options()
      ("check", po::bool_switch(),
       "wait for a login prompt on the serial console, then stop the VM: exit 0, or 1 with the console's end")
      ("timeout", po::value<int>()->value_name("S"), "with --check: seconds to wait for the prompt (default 300)")
      ("memory", po::value<int>()->default_value(2048)->value_name("MiB"), "guest memory")
      ("cpus", po::value<int>()->default_value(2)->value_name("N"), "virtual CPUs")
      ("accel", po::value<std::string>()->default_value("auto")->value_name("MODE"),
       "auto, kvm or tcg (auto uses KVM only where it works, else TCG emulation)")
      ("snapshot", po::bool_switch(), "discard the guest's writes to the image (always on with --check)")
      ("serial-log", po::value<std::string>()->value_name("FILE"), "also write the serial console to FILE")
      ("firmware-code", po::value<std::string>()->value_name("FILE"),
       "UEFI firmware code (default /usr/share/OVMF/OVMF_CODE_4M.fd); needs --firmware-vars")
      ("firmware-vars", po::value<std::string>()->value_name("FILE"),
       "UEFI variable store template, copied for each VM (default /usr/share/OVMF/OVMF_VARS_4M.fd)");
}

int int_option(const Invocation& inv, const char* name, int min, int max) {
  const int value = inv.options[name].as<int>();
  base::require(value >= min && value <= max, "invalid --" + std::string(name) + " " + std::to_string(value) +
                                                 " (expected " + std::to_string(min) + ".." + std::to_string(max) + ")");
  return value;
}

std::optional<fs::path> path_option(const Invocation& inv, const char* name) {
  if (!inv.options.count(name)) return std::nullopt;
  return fs::path(inv.options[name].as<std::string>());
}

bool choose_kvm(const std::string& text, Logger& log) {
  const std::optional<Accel> accel = parse_accel(text);
  base::require(accel.has_value(), "invalid --accel '" + text + "' (expected auto, kvm or tcg)");
  if (*accel == Accel::kTcg) return false;
  const bool usable = kvm_usable();
  if (*accel == Accel::kAuto) {
    if (!usable) log.debug("KVM is not usable here; using TCG emulation");
    return usable;
  }
  if (!usable) log.warn("KVM does not look usable here (no read-write /dev/kvm or no vmx/svm); trying it anyway");
  return true;
}

std::string seconds_text(std::chrono::milliseconds elapsed) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(elapsed.count()) / 1000.0);
  return text;
}

int check_boot(const Invocation& inv, const VmSpec& spec, int timeout) {
  inv.log.info("Booting '" + spec.image.string() + "' (" + std::string(qemu_format_name(spec.format)) + ", " +
               (spec.kvm ? "KVM" : "TCG") + "); waiting up to " + std::to_string(timeout) +
               " s for a login prompt on the serial console");
  inv.log.debug("Running " + shell_quote(qemu_argv(spec)));
  const LoginCheck result = wait_for_login(spec, std::chrono::seconds(timeout));
  if (result.reached) {
    inv.out << "Login prompt after " << seconds_text(result.elapsed) << ": " << result.prompt << "\n";
    return kExitOk;
  }
  std::string message = "Failed to boot image '" + spec.image.string() + "' to a login prompt: " + result.failure;
  if (!result.qemu_stderr.empty()) message += "\nqemu said:\n" + last_lines(result.qemu_stderr, 10);
  const std::string tail = last_lines(result.console, kTailLines);
  message += tail.empty() ? "\nThe serial console stayed empty.\n"
                          : "\nLast lines of the serial console:\n" + tail;
  message += "(end of console)";
  throw base::Error(base::ErrorKind::kFailed, message)
      .with_hint("the image must boot with UEFI and run a getty on ttyS0 (kernel option console=ttyS0); "
                 "--serial-log FILE keeps the whole console");
}

int run_boot(const Invocation& inv) {
  const fs::path image = inv.args.at(0);
  const bool check = inv.options["check"].as<bool>();
  base::require(check || !inv.options.count("timeout"), "--timeout needs --check");
  const int timeout = inv.options.count("timeout") ? int_option(inv, "timeout", 1, 86400) : kDefaultTimeout;
  VmSpec spec;
  spec.memory_mib = int_option(inv, "memory", 128, 1 << 20);
  spec.cpus = int_option(inv, "cpus", 1, 255);
  spec.serial_log = path_option(inv, "serial-log");
  spec.image = image;
  spec.format = detect_disk_format(image);
  spec.kvm = choose_kvm(inv.options["accel"].as<std::string>(), inv.log);
  spec.qemu = find_qemu();
  const Firmware firmware = find_firmware(path_option(inv, "firmware-code"), path_option(inv, "firmware-vars"));
  const VmScratch scratch(firmware.vars);
  spec.firmware_code = firmware.code;
  spec.firmware_vars = scratch.vars();
  spec.temp_dir = scratch.dir();
  // --check must leave the image as it was; it needs no network either, and
  // without a NIC the guest does not wait for DHCP.
  spec.snapshot = check || inv.options["snapshot"].as<bool>();
  spec.network = !check;
  spec.console = check ? ConsoleMode::kCapture : ConsoleMode::kTerminal;
  if (check) return check_boot(inv, spec, timeout);

  inv.log.info("Booting '" + image.string() + "'; this terminal is its serial console. "
               "Quit with Ctrl-A X (Ctrl-A C switches to the QEMU monitor and back).");
  inv.log.debug("Running " + shell_quote(qemu_argv(spec)));
  const int status = run_vm_interactive(spec);
  base::check(status == 0, "Failed to run image '" + image.string() + "': qemu exited with status " +
                              std::to_string(status));
  return kExitOk;
}

}  // namespace

std::vector<Verb> boot_verbs() {
  return {Verb{.name = "boot", .arguments = "IMAGE",
               .summary = "Boot a disk image in QEMU (UEFI, serial console); --check waits for the login prompt",
               .min_args = 1, .max_args = 1, .add_options = add_boot_options, .run = run_boot,
               .loads_config = false}};
}

}  // namespace supervisor::cli
