// `boot FILE`: starts a disk image, an ISO (as a CD-ROM, optionally with a
// blank disk) or an initrd (with --kernel) in QEMU, its serial console on
// the terminal; with --check, waits for the login prompt instead and reports
// whether it came; with --install, lets the ISO's installer fill the disk
// and checks that the installed system boots from it (vm/boot_phases.hpp).
#include <cstdio>
#include <string>

#include "base/error.hpp"
#include "supervisor/cli/cli.hpp"
#include "supervisor/vm/blank_disk.hpp"
#include "supervisor/vm/boot_phases.hpp"
#include "supervisor/vm/boot_vm.hpp"
#include "supervisor/vm/media_kind.hpp"
#include "supervisor/vm/vm_process.hpp"
#include "supervisor/vm/vm_session.hpp"

namespace supervisor::cli {
namespace {
namespace fs = std::filesystem;

constexpr int kDefaultTimeout = 300;
constexpr int kDefaultInstallTimeout = 1800;
constexpr int kDiskMemoryMib = 2048;
constexpr int kLiveMemoryMib = 3072;  // a live environment holds its root file system in RAM
constexpr int kInstallDiskGib = 8;
constexpr std::size_t kTailLines = 40;
constexpr std::string_view kDefaultAppend = "console=ttyS0,115200 console=tty0";

void add_boot_options(po::options_description& options) {
  options.add_options()
      ("check", po::bool_switch(),
       "wait for a login prompt on the serial console, then stop the VM: exit 0, or 1 with the console's end")
      ("timeout", po::value<int>()->value_name("S"),
       "with --check or --install: seconds to wait for each login prompt (default 300)")
      ("kernel", po::value<std::string>()->value_name("K"), "boot an initrd with this kernel (required for an initrd)")
      ("append", po::value<std::string>()->value_name("TEXT"),
       "with --kernel: the kernel command line (default \"console=ttyS0,115200 console=tty0\")")
      ("disk", po::value<int>()->value_name("GiB"), "ISO: add a blank qcow2 disk of this size (/dev/vda in the VM)")
      ("install", po::bool_switch(),
       "ISO: wait for the installer to finish on the disk, then boot the disk alone to its login prompt")
      ("install-timeout", po::value<int>()->value_name("S"),
       "with --install: seconds to wait for the installer's result (default 1800)")
      ("keep-disk", po::value<std::string>()->value_name("PATH"),
       "with --disk or --install: create the disk at PATH (a new file) and keep it")
      ("bios", po::bool_switch(), "boot with SeaBIOS (legacy BIOS) instead of OVMF (UEFI)")
      ("memory", po::value<int>()->value_name("MiB"),
       "guest memory (default 2048; 3072 for an ISO or initrd, whose live system runs from RAM)")
      ("cpus", po::value<int>()->default_value(2)->value_name("N"), "virtual CPUs")
      ("accel", po::value<std::string>()->default_value("auto")->value_name("MODE"),
       "auto, kvm or tcg (auto uses KVM only where it works, else TCG emulation)")
      ("snapshot", po::bool_switch(),
       "disk image: discard the guest's writes to the image (always on with --check)")
      ("serial-log", po::value<std::string>()->value_name("FILE"), "also write the serial console to FILE")
      ("firmware-code", po::value<std::string>()->value_name("FILE"),
       "UEFI firmware code (default /usr/share/OVMF/OVMF_CODE_4M.fd); needs --firmware-vars")
      ("firmware-vars", po::value<std::string>()->value_name("FILE"),
       "UEFI variable store template, copied for each VM (default /usr/share/OVMF/OVMF_VARS_4M.fd)");
}

// What the command line asks for, checked against the kind of the file.
struct BootRequest {
  fs::path image;
  MediaProbe media;
  bool check = false;
  bool install = false;
  int timeout = kDefaultTimeout;
  int install_timeout = kDefaultInstallTimeout;
  std::optional<int> disk_gib;
  std::optional<fs::path> keep_disk;
  std::optional<fs::path> kernel;
  std::string append;
};

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

bool has(const Invocation& inv, const char* name) {
  const po::variable_value& value = inv.options[name];
  if (value.empty()) return false;
  if (const bool* flag = boost::any_cast<bool>(&value.value())) return *flag;
  return true;
}

std::string named(const BootRequest& request) {
  return "'" + request.image.string() + "' is " + (request.media.kind == MediaKind::kDisk ? "a " : "an ") +
         std::string(to_string(request.media.kind));
}

void require_only_for(const Invocation& inv, const BootRequest& request, const char* option, MediaKind kind,
                      std::string_view kinds) {
  base::require(!has(inv, option) || request.media.kind == kind,
                "--" + std::string(option) + " is for " + std::string(kinds) + ": " + named(request));
}

// An initrd needs a kernel; a cpio archive cannot be anything else, but a
// compressed file may as well be a compressed disk image: for gzip, xz and
// zstd detect_disk_format's refusal says how to decompress it (and that an
// initrd takes --kernel); for the rest this one does.
[[noreturn]] void require_kernel_for_initrd(const BootRequest& request) {
  if (request.media.compression != "none") detect_disk_format(request.image);
  throw base::Error(base::ErrorKind::kInvalidInput,
                    "Failed to boot '" + request.image.string() + "': it is an initrd (a " +
                        (request.media.compression == "none" ? std::string("cpio archive")
                                                             : std::string(request.media.compression) + "-compressed file") +
                        "), which boots only with a kernel")
      .with_hint("add --kernel K (the kernel the initrd was built with, published beside it)");
}

void check_kind_options(const Invocation& inv, const BootRequest& request) {
  const MediaKind kind = request.media.kind;
  if (kind == MediaKind::kInitrd && !request.kernel) require_kernel_for_initrd(request);
  base::require(!request.kernel || kind == MediaKind::kInitrd,
                "--kernel is for initrds: " + named(request) +
                    (kind == MediaKind::kIso ? ", which boots its own kernel"
                                             : " (no cpio header, no gzip, zstd, xz, lz4, bzip2 or lzma data)"));
  require_only_for(inv, request, "disk", MediaKind::kIso, "ISO images");
  require_only_for(inv, request, "install", MediaKind::kIso, "ISO images");
  require_only_for(inv, request, "snapshot", MediaKind::kDisk, "disk images (an ISO is attached read-only)");
  base::require(!has(inv, "append") || request.kernel, "--append needs --kernel");
  base::require(!has(inv, "keep-disk") || has(inv, "disk") || request.install, "--keep-disk needs --disk or --install");
  base::require(request.check || request.install || !has(inv, "timeout"), "--timeout needs --check or --install");
  base::require(request.install || !has(inv, "install-timeout"), "--install-timeout needs --install");
  base::require(!has(inv, "bios") || !(has(inv, "firmware-code") || has(inv, "firmware-vars")),
                "--bios boots SeaBIOS, which takes no --firmware-code or --firmware-vars");
}

BootRequest read_request(const Invocation& inv) {
  BootRequest request;
  request.image = inv.args.at(0);
  request.media = detect_media(request.image);
  request.check = has(inv, "check");
  request.install = has(inv, "install");
  request.kernel = path_option(inv, "kernel");
  check_kind_options(inv, request);
  if (has(inv, "timeout")) request.timeout = int_option(inv, "timeout", 1, 86400);
  if (has(inv, "install-timeout")) request.install_timeout = int_option(inv, "install-timeout", 1, 86400);
  if (has(inv, "disk")) request.disk_gib = int_option(inv, "disk", 1, kMaxDiskGib);
  if (request.install && !request.disk_gib) request.disk_gib = kInstallDiskGib;
  request.keep_disk = path_option(inv, "keep-disk");
  request.append = has(inv, "append") ? inv.options["append"].as<std::string>() : std::string(kDefaultAppend);
  if (request.kernel) require_linux_kernel(*request.kernel);
  return request;
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

// The machine without its media: memory, CPUs, accelerator, console.
VmSpec machine_spec(const Invocation& inv, const BootRequest& request) {
  VmSpec spec;
  const int default_memory = request.media.kind == MediaKind::kDisk ? kDiskMemoryMib : kLiveMemoryMib;
  spec.memory_mib = has(inv, "memory") ? int_option(inv, "memory", 128, 1 << 20) : default_memory;
  spec.cpus = int_option(inv, "cpus", 1, 255);
  spec.serial_log = path_option(inv, "serial-log");
  spec.kvm = choose_kvm(inv.options["accel"].as<std::string>(), inv.log);
  spec.qemu = find_qemu();
  spec.bios = has(inv, "bios");
  const bool captured = request.check || request.install;
  // A check must leave a disk image as it was; it needs no network either,
  // and without a NIC the guest does not wait for DHCP.
  spec.snapshot = request.media.kind == MediaKind::kDisk && (request.check || has(inv, "snapshot"));
  spec.network = !captured;
  spec.console = captured ? ConsoleMode::kCapture : ConsoleMode::kTerminal;
  return spec;
}

std::unique_ptr<VmScratch> make_scratch(const Invocation& inv, VmSpec& spec) {
  if (spec.bios) return std::make_unique<VmScratch>();
  const Firmware firmware = find_firmware(path_option(inv, "firmware-code"), path_option(inv, "firmware-vars"));
  auto scratch = std::make_unique<VmScratch>(firmware.vars);
  spec.firmware_code = firmware.code;
  spec.firmware_vars = scratch->vars();
  return scratch;
}

void attach_media(const BootRequest& request, const VmScratch& scratch, VmSpec& spec) {
  spec.temp_dir = scratch.dir();
  switch (request.media.kind) {
    case MediaKind::kDisk:
      spec.image = request.image;
      spec.format = detect_disk_format(request.image);
      return;
    case MediaKind::kInitrd:
      spec.kernel = *request.kernel;
      spec.initrd = request.image;
      spec.append = request.append;
      return;
    case MediaKind::kIso:
      spec.cdrom = request.image;
      if (!request.disk_gib) return;
      spec.image = request.keep_disk.value_or(scratch.dir() / "disk.qcow2");
      spec.format = DiskFormat::kQcow2;
      create_blank_disk(find_qemu_img(), spec.image, *request.disk_gib);
      return;
  }
}

std::string seconds_text(std::chrono::milliseconds elapsed) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(elapsed.count()) / 1000.0);
  return text;
}

std::string phase_hint(BootPhase phase, MediaKind kind) {
  switch (phase) {
    case BootPhase::kInstaller:
      return "the live environment runs the installer unattended when the target template sets disk.path; "
             "--serial-log FILE keeps the whole console";
    case BootPhase::kInstalledSystem:
      return "the installed system must boot from /dev/vda alone and run a getty on ttyS0; "
             "--keep-disk PATH keeps the disk to inspect";
    case BootPhase::kLiveEnvironment:
      return "the ISO's default boot entry must start the live environment with console=ttyS0; "
             "--serial-log FILE keeps the whole console";
    case BootPhase::kBoot:
      break;
  }
  if (kind == MediaKind::kInitrd) {
    return "the kernel command line must name the serial console (--append; default " + std::string(kDefaultAppend) +
           ") and the initrd must run a getty on ttyS0; --serial-log FILE keeps the whole console";
  }
  return "the image must boot with UEFI (or with SeaBIOS: --bios) and run a getty on ttyS0 (kernel option "
         "console=ttyS0); --serial-log FILE keeps the whole console";
}

[[noreturn]] void fail_phase(const BootRequest& request, const PhaseOutcome& outcome) {
  std::string message = outcome.phase == BootPhase::kBoot
                            ? "Failed to boot image '" + request.image.string() + "' to a login prompt: "
                            : "Failed to boot ISO '" + request.image.string() + "' (phase: " +
                                  std::string(to_string(outcome.phase)) + "): ";
  message += outcome.failure;
  if (!outcome.qemu_stderr.empty()) message += "\nqemu said:\n" + last_lines(outcome.qemu_stderr, 10);
  const std::string tail = last_lines(outcome.console, kTailLines);
  message += tail.empty() ? "\nThe serial console stayed empty.\n" : "\nLast lines of the serial console:\n" + tail;
  message += "(end of console)";
  if (request.keep_disk) message += "\nThe disk is kept at '" + request.keep_disk->string() + "'.";
  throw base::Error(base::ErrorKind::kFailed, message).with_hint(phase_hint(outcome.phase, request.media.kind));
}

VmLauncher logged_launcher(const Invocation& inv, SignalGate& signals) {
  return [&inv, &signals](const VmSpec& spec) {
    inv.log.debug("Running " + shell_quote(qemu_argv(spec)));
    return start_qemu_session(spec, signals);
  };
}

std::string machine_text(const VmSpec& spec) {
  return std::string(spec.bios ? "SeaBIOS" : "UEFI") + ", " + (spec.kvm ? "KVM" : "TCG");
}

int check_boot(const Invocation& inv, const BootRequest& request, const VmSpec& spec, SignalGate& signals) {
  const BootPhase phase = request.media.kind == MediaKind::kIso ? BootPhase::kLiveEnvironment : BootPhase::kBoot;
  inv.log.info("Booting " + std::string(to_string(request.media.kind)) + " '" + request.image.string() + "' (" +
               machine_text(spec) + "); waiting up to " + std::to_string(request.timeout) +
               " s for a login prompt on the serial console");
  const PhaseOutcome outcome =
      check_login(logged_launcher(inv, signals), spec, phase, std::chrono::seconds(request.timeout));
  if (!outcome.reached) fail_phase(request, outcome);
  inv.out << "Login prompt after " << seconds_text(outcome.elapsed) << ": " << outcome.line << "\n";
  return kExitOk;
}

int install_boot(const Invocation& inv, const BootRequest& request, const VmSpec& spec, SignalGate& signals) {
  inv.log.info("Installing from ISO '" + request.image.string() + "' onto a blank " +
               std::to_string(*request.disk_gib) + " GiB disk (" + machine_text(spec) + "); waiting up to " +
               std::to_string(request.install_timeout) + " s for the installer, then up to " +
               std::to_string(request.timeout) + " s for the installed system's login prompt");
  const InstallTimeouts timeouts{std::chrono::seconds(request.install_timeout), std::chrono::seconds(request.timeout)};
  const std::vector<PhaseOutcome> phases = install_and_check(logged_launcher(inv, signals), spec, timeouts);
  if (!phases.back().reached) fail_phase(request, phases.back());
  inv.out << "Installation complete after " << seconds_text(phases.front().elapsed) << "\n"
          << "Login prompt after " << seconds_text(phases.back().elapsed) << ": " << phases.back().line << "\n";
  if (request.keep_disk) inv.out << "Installed disk: " << request.keep_disk->string() << "\n";
  return kExitOk;
}

int interactive_boot(const Invocation& inv, const BootRequest& request, const VmSpec& spec) {
  inv.log.info("Booting '" + request.image.string() + "'; this terminal is its serial console. "
               "Quit with Ctrl-A X (Ctrl-A C switches to the QEMU monitor and back).");
  inv.log.debug("Running " + shell_quote(qemu_argv(spec)));
  const int status = run_vm_interactive(spec);
  base::check(status == 0, "Failed to run image '" + request.image.string() + "': qemu exited with status " +
                              std::to_string(status));
  return kExitOk;
}

int run_boot(const Invocation& inv) {
  const BootRequest request = read_request(inv);
  // Blocked from here, a signal is taken by the next wait on a VM, after
  // which everything below is removed on the way out.
  SignalGate signals;
  VmSpec spec = machine_spec(inv, request);
  const std::unique_ptr<VmScratch> scratch = make_scratch(inv, spec);
  attach_media(request, *scratch, spec);
  if (request.install) return install_boot(inv, request, spec, signals);
  if (request.check) return check_boot(inv, request, spec, signals);
  return interactive_boot(inv, request, spec);
}

}  // namespace

std::vector<Verb> boot_verbs() {
  return {Verb{.name = "boot", .arguments = "IMAGE",
               .summary = "Boot a disk image, an ISO or an initrd in QEMU (serial console); --check waits for the "
                          "login prompt, --install installs from an ISO",
               .min_args = 1, .max_args = 1, .add_options = add_boot_options, .run = run_boot,
               .loads_config = false}};
}

}  // namespace supervisor::cli
