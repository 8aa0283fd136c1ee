// Boots a disk image, an ISO or a kernel with its initrd in QEMU with OVMF
// (UEFI) or SeaBIOS firmware and a serial console, either for a person at
// the terminal or as a check that waits for console lines (boot_phases.hpp).
// The pure parts (format probing, the QEMU argv, the prompt matcher;
// boot_vm.cpp, media_args.cpp) are separate from the process handling
// (run_vm_interactive, VmScratch; vm_process.cpp; vm_session.cpp) so tests
// can exercise them without a VM.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace supervisor {

// The disk formats QEMU is told about explicitly (its `format=` names).
// The order of both enums matches the name tables in boot_vm.cpp.
enum class DiskFormat { kRaw, kQcow2, kVpc, kVhdx, kVmdk, kVdi };
enum class Compression { kNone, kGzip, kXz, kZstd };

std::string_view qemu_format_name(DiskFormat format);
std::string_view to_string(Compression compression);

struct ImageKind {
  DiskFormat format = DiskFormat::kRaw;
  Compression compression = Compression::kNone;
};

// Classifies an image from its first bytes (`head`, at least 512 wanted),
// its last 512 bytes (`tail`: the VHD footer) and its file name. Magic bytes
// win; the name only reveals compression that has no magic in `head`
// (a truncated file). Anything unrecognised is raw.
ImageKind probe_image(std::string_view head, std::string_view tail, std::string_view file_name);

// Reads the image's first and last bytes and probes them. Throws
// base::Error kInvalidInput when the file is missing, not a regular file or
// compressed (the message says how to decompress it).
DiskFormat detect_disk_format(const std::filesystem::path& image);

enum class Accel { kAuto, kKvm, kTcg };
std::optional<Accel> parse_accel(std::string_view text);

// True when /proc/cpuinfo text lists hardware virtualisation (vmx or svm).
bool cpu_supports_virtualization(std::string_view cpuinfo);

// `auto` picks KVM only when /dev/kvm opens read-write, answers the API
// version ioctl and the CPU advertises vmx/svm; otherwise TCG.
bool kvm_usable();

struct Firmware {
  std::filesystem::path code;  // read-only
  std::filesystem::path vars;  // template; each VM gets a private copy
};

// The OVMF pair to use: both overrides, or the first installed default
// pair (OVMF_CODE_4M.fd + OVMF_VARS_4M.fd, then OVMF_CODE.fd + OVMF_VARS.fd)
// in `search_dir`. Throws base::Error naming package ovmf when none is found.
Firmware find_firmware(const std::optional<std::filesystem::path>& code,
                       const std::optional<std::filesystem::path>& vars,
                       const std::filesystem::path& search_dir = "/usr/share/OVMF");

// qemu-system-x86_64 from PATH (then /usr/bin). Throws base::Error naming
// package qemu-system-x86 when it is missing.
std::filesystem::path find_qemu();

// qemu-img (blank disks for `boot --disk`) from PATH, then /usr/bin. Throws
// base::Error naming package qemu-utils when it is missing.
std::filesystem::path find_qemu_img();

enum class ConsoleMode {
  kTerminal,  // the serial port and the QEMU monitor multiplexed on stdio (Ctrl-A X quits)
  kCapture,   // the serial port on stdout (a pipe the caller reads), no monitor
};

struct VmSpec {
  std::filesystem::path qemu;
  std::filesystem::path image;  // the disk (virtio, /dev/vda in the guest); empty: none
  DiskFormat format = DiskFormat::kRaw;
  std::filesystem::path cdrom;   // an ISO attached read-only as a CD-ROM, booted first; empty: none
  std::filesystem::path kernel;  // booted directly (-kernel) with `initrd`; empty: the firmware boots a drive
  std::filesystem::path initrd;
  std::string append;            // the kernel command line
  bool bios = false;             // SeaBIOS (QEMU's default firmware) instead of the OVMF pair
  std::filesystem::path firmware_code;
  std::filesystem::path firmware_vars;  // the private, writable copy
  int memory_mib = 2048;
  int cpus = 2;
  bool kvm = false;
  bool snapshot = false;  // writes to `image` go to a temporary overlay, the image stays unchanged
  bool network = false;   // user-mode networking with a virtio NIC
  ConsoleMode console = ConsoleMode::kTerminal;
  std::optional<std::filesystem::path> serial_log;  // QEMU copies the console here
  bool serial_log_append = false;                   // after what an earlier VM wrote there
  std::filesystem::path temp_dir;                   // QEMU's TMPDIR (empty: inherited)
};

// True for Debian's OVMF builds with Secure Boot (*.secboot.fd, *.ms.fd,
// *.snakeoil.fd): they require SMM, so the VM gets smm=on and a pflash
// that only SMM may write.
bool firmware_needs_smm(const std::filesystem::path& code);

// The full QEMU command line (argv[0] is spec.qemu). Commas in paths are
// doubled, as QEMU's option syntax requires.
std::vector<std::string> qemu_argv(const VmSpec& spec);

// The argv as one line a shell would accept (for logs).
std::string shell_quote(const std::vector<std::string>& argv);

// Console text without terminal escape sequences and control characters;
// every CR, LF or CRLF becomes one '\n'.
std::string clean_console_text(std::string_view raw);

// The getty prompt ("debian12-minimal login:") on a line of `raw` console
// output, or nullopt. Escape sequences and CRs around it are ignored.
std::optional<std::string> find_login_prompt(std::string_view raw);

// The last `count` lines of cleaned console text.
std::string last_lines(std::string_view raw, std::size_t count);

// Runs qemu_argv(spec) (spec.console kTerminal) until QEMU exits; returns
// its exit code. SIGINT, SIGTERM and SIGHUP to this process stop the VM.
int run_vm_interactive(const VmSpec& spec);

// A private directory per VM, removed with everything in it when this
// object goes: the VM's copy of the OVMF variable store, QEMU's TMPDIR
// (where it keeps the --snapshot overlay) and a blank disk made for it.
class VmScratch {
 public:
  VmScratch();  // without a variable store (SeaBIOS)
  explicit VmScratch(const std::filesystem::path& vars_template);
  ~VmScratch();
  VmScratch(const VmScratch&) = delete;
  VmScratch& operator=(const VmScratch&) = delete;
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path vars() const { return dir_ / "OVMF_VARS.fd"; }

 private:
  std::filesystem::path dir_;
};

}  // namespace supervisor
