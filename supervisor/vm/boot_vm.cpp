// The pure parts of `boot`: image probing, firmware and QEMU lookup, the
// QEMU argv and the console text matcher. Running QEMU is vm_process.cpp.
#include "supervisor/vm/boot_vm.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/vm/media_args.hpp"
#include "supervisor/vm/media_kind.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using base::UniqueFd;

constexpr std::size_t kHeadBytes = 4096;
constexpr std::size_t kFooterBytes = 512;

bool starts_with_at(std::string_view text, std::size_t offset, std::string_view magic) {
  return text.size() >= offset + magic.size() && text.substr(offset, magic.size()) == magic;
}

std::optional<DiskFormat> disk_magic(std::string_view head, std::string_view tail) {
  using namespace std::string_view_literals;
  if (starts_with_at(head, 0, "QFI\xfb"sv)) return DiskFormat::kQcow2;
  if (starts_with_at(head, 0, "vhdxfile"sv)) return DiskFormat::kVhdx;
  if (starts_with_at(head, 0, "KDMV"sv)) return DiskFormat::kVmdk;
  // VDI: a text banner, then the binary signature 0xbeda107f at offset 64.
  if (starts_with_at(head, 0, "<<< Oracle VM VirtualBox Disk Image >>>"sv) ||
      starts_with_at(head, 64, "\x7f\x10\xda\xbe"sv)) {
    return DiskFormat::kVdi;
  }
  // VHD: the footer ends the file; dynamic disks also copy it to the start.
  if (starts_with_at(head, 0, "conectix"sv) || starts_with_at(tail, 0, "conectix"sv)) return DiskFormat::kVpc;
  return std::nullopt;
}

Compression compression_magic(std::string_view head) {
  using namespace std::string_view_literals;
  if (starts_with_at(head, 0, "\x1f\x8b"sv)) return Compression::kGzip;
  if (starts_with_at(head, 0, "\xfd" "7zXZ\x00"sv)) return Compression::kXz;
  if (starts_with_at(head, 0, "\x28\xb5\x2f\xfd"sv)) return Compression::kZstd;
  return Compression::kNone;
}

Compression compression_extension(std::string_view file_name) {
  const std::string ext = fs::path(file_name).extension().string();
  if (ext == ".gz") return Compression::kGzip;
  if (ext == ".xz") return Compression::kXz;
  if (ext == ".zst" || ext == ".zstd") return Compression::kZstd;
  return Compression::kNone;
}

std::string decompress_command(Compression c, const fs::path& image) {
  static constexpr std::string_view kCommands[] = {"", "gzip -dk ", "xz -dk ", "zstd -d "};
  return std::string(kCommands[static_cast<std::size_t>(c)]) + shell_quote({image.string()});
}

bool is_executable_file(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

bool is_readable_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), R_OK) == 0;
}

}  // namespace

std::string_view qemu_format_name(DiskFormat format) {
  static constexpr std::string_view kNames[] = {"raw", "qcow2", "vpc", "vhdx", "vmdk", "vdi"};
  return kNames[static_cast<std::size_t>(format)];
}

std::string_view to_string(Compression compression) {
  static constexpr std::string_view kNames[] = {"none", "gzip", "xz", "zstd"};
  return kNames[static_cast<std::size_t>(compression)];
}

ImageKind probe_image(std::string_view head, std::string_view tail, std::string_view file_name) {
  if (auto format = disk_magic(head, tail)) return {*format, Compression::kNone};
  Compression c = compression_magic(head);
  if (c == Compression::kNone) c = compression_extension(file_name);
  return {DiskFormat::kRaw, c};
}

DiskFormat detect_disk_format(const fs::path& image) {
  const OpenImage file = open_image(image);
  const std::string head = read_image_at(file, kHeadBytes, 0, image);
  const std::string tail = file.size >= static_cast<off_t>(kFooterBytes)
                               ? read_image_at(file, kFooterBytes, file.size - static_cast<off_t>(kFooterBytes), image)
                               : std::string();
  const ImageKind kind = probe_image(head, tail, image.filename().string());
  if (kind.compression != Compression::kNone) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "Failed to boot image '" + image.string() + "': it is " +
                         std::string(to_string(kind.compression)) + "-compressed; QEMU boots only uncompressed images")
        .with_hint("decompress it first (" + decompress_command(kind.compression, image) +
                   ") and boot the result; an initrd boots with --kernel K instead");
  }
  return kind.format;
}

std::optional<Accel> parse_accel(std::string_view text) {
  if (text == "auto") return Accel::kAuto;
  if (text == "kvm") return Accel::kKvm;
  if (text == "tcg") return Accel::kTcg;
  return std::nullopt;
}

bool cpu_supports_virtualization(std::string_view cpuinfo) {
  std::istringstream lines{std::string(cpuinfo)};
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("flags")) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream words(line.substr(colon + 1));
    for (std::string word; words >> word;) {
      if (word == "vmx" || word == "svm") return true;
    }
  }
  return false;
}

bool kvm_usable() {
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm || ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) return false;
  // KVM can answer ioctls under a hypervisor that does not pass vmx/svm
  // through, and then QEMU hangs at the first vCPU run: trust the CPU flags.
  std::ifstream in("/proc/cpuinfo");
  std::ostringstream text;
  text << in.rdbuf();
  return cpu_supports_virtualization(text.str());
}

Firmware find_firmware(const std::optional<fs::path>& code, const std::optional<fs::path>& vars,
                       const fs::path& search_dir) {
  base::require(code.has_value() == vars.has_value(),
               "--firmware-code and --firmware-vars must be given together (a CODE file and its matching VARS template)");
  if (code) {
    for (const fs::path& file : {*code, *vars}) {
      base::require(is_readable_file(file), "Failed to read firmware file '" + file.string() + "': not a readable file");
    }
    return {*code, *vars};
  }
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kPairs = {{
      {"OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"},
      {"OVMF_CODE.fd", "OVMF_VARS.fd"},
  }};
  for (const auto& [code_name, vars_name] : kPairs) {
    const fs::path c = search_dir / code_name;
    const fs::path v = search_dir / vars_name;
    if (is_readable_file(c) && is_readable_file(v)) return {c, v};
  }
  throw base::Error(base::ErrorKind::kFailed,
                   "Failed to find the OVMF UEFI firmware: neither OVMF_CODE_4M.fd + OVMF_VARS_4M.fd nor "
                   "OVMF_CODE.fd + OVMF_VARS.fd is in '" + search_dir.string() + "'")
      .with_hint("install the OVMF firmware (Debian package: ovmf) or pass --firmware-code and --firmware-vars");
}

namespace {

// `name` from PATH, then /usr/bin; nullopt when neither has it.
std::optional<fs::path> find_program(std::string_view name) {
  std::vector<fs::path> dirs;
  std::istringstream path(env_or_empty("PATH"));
  for (std::string dir; std::getline(path, dir, ':');) {
    if (!dir.empty()) dirs.emplace_back(dir);
  }
  dirs.emplace_back("/usr/bin");
  for (const fs::path& dir : dirs) {
    if (is_executable_file(dir / name)) return dir / name;
  }
  return std::nullopt;
}

}  // namespace

fs::path find_qemu() {
  if (auto qemu = find_program("qemu-system-x86_64")) return *qemu;
  throw base::Error(base::ErrorKind::kFailed, "Failed to find the program qemu-system-x86_64 in PATH or /usr/bin")
      .with_hint("install qemu-system-x86_64 (Debian package: qemu-system-x86)");
}

fs::path find_qemu_img() {
  if (auto qemu_img = find_program("qemu-img")) return *qemu_img;
  throw base::Error(base::ErrorKind::kFailed, "Failed to find the program qemu-img in PATH or /usr/bin")
      .with_hint("install qemu-img (Debian package: qemu-utils)");
}

bool firmware_needs_smm(const fs::path& code) {
  const std::string name = code.filename().string();
  for (const char* smm_build : {".secboot.", ".ms.", ".snakeoil."}) {
    if (name.find(smm_build) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::string> qemu_argv(const VmSpec& spec) {
  const std::string accel = spec.kvm ? "kvm" : "tcg";
  // Secure Boot firmware keeps its variables in SMM: without it OVMF stops.
  const bool smm = !spec.bios && firmware_needs_smm(spec.firmware_code);
  std::vector<std::string> argv = {
      spec.qemu.string(),
      "-machine", std::string("q35,") + (smm ? "smm=on," : "") + "accel=" + accel,
      "-cpu", spec.kvm ? "host" : "max",
      "-m", std::to_string(spec.memory_mib),
      "-smp", std::to_string(spec.cpus),
  };
  if (smm) argv.insert(argv.end(), {"-global", "driver=cfi.pflash01,property=secure,value=on"});
  for (auto part : {firmware_args(spec), media_args(spec)}) argv.insert(argv.end(), part.begin(), part.end());
  argv.insert(argv.end(), {"-nic", spec.network ? "user,model=virtio-net-pci" : "none"});
  // signal=off: Ctrl-C belongs to the guest, not to QEMU.
  std::string chardev = "stdio,id=console,signal=off";
  if (spec.console == ConsoleMode::kTerminal) chardev += ",mux=on";
  if (spec.serial_log) chardev += ",logfile=" + qemu_option_value(*spec.serial_log);
  if (spec.serial_log && spec.serial_log_append) chardev += ",logappend=on";
  argv.insert(argv.end(), {"-chardev", chardev, "-serial", "chardev:console"});
  if (spec.console == ConsoleMode::kTerminal) {
    argv.insert(argv.end(), {"-mon", "chardev=console,mode=readline"});
  } else {
    argv.insert(argv.end(), {"-monitor", "none"});
  }
  argv.insert(argv.end(), {"-display", "none", "-no-reboot"});
  return argv;
}

std::string shell_quote(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) {
    if (!line.empty()) line += ' ';
    const bool plain = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
    });
    if (plain) {
      line += arg;
      continue;
    }
    line += '\'';
    for (char c : arg) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

std::string clean_console_text(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == 0x1b) {
      if (i + 1 >= raw.size()) break;
      const char kind = raw[++i];
      if (kind == '[') {  // CSI: parameters, then one final byte in @..~
        while (i + 1 < raw.size() && !(raw[i + 1] >= 0x40 && raw[i + 1] <= 0x7e)) ++i;
        ++i;
      } else if (kind == ']' || kind == 'P' || kind == 'X' || kind == '^' || kind == '_') {
        // A string ended by BEL or ESC backslash.
        while (i + 1 < raw.size() && raw[i + 1] != '\a' && raw[i + 1] != 0x1b) ++i;
        ++i;
        if (i < raw.size() && raw[i] == 0x1b) ++i;
      } else {  // ESC, intermediate bytes, one final byte: "ESC ( B"
        while (i < raw.size() && raw[i] >= 0x20 && raw[i] <= 0x2f) ++i;
      }
    } else if (c == '\r') {
      std::size_t next = i + 1;
      while (next < raw.size() && raw[next] == '\r') ++next;
      if (next < raw.size() && raw[next] == '\n') {
        i = next;  // CRLF (or CRCRLF) is one line break
      }
      out += '\n';
    } else if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f)) {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<std::string> find_login_prompt(std::string_view raw) {
  // "host login:" starts a line, or ends one with nothing after it (getty
  // waits there); a kernel message may still be printed behind it.
  static const std::regex kAtStart(R"(^\s*([A-Za-z0-9][A-Za-z0-9._-]*\s+)?login:(\s|$))");
  static const std::regex kAtEnd(R"((^|\s)([A-Za-z0-9][A-Za-z0-9._-]*\s+)?login:\s*$)");
  std::istringstream lines(clean_console_text(raw));
  for (std::string line; std::getline(lines, line);) {
    if (line.find("login:") == std::string::npos) continue;
    if (std::regex_search(line, kAtStart) || std::regex_search(line, kAtEnd)) {
      const auto first = line.find_first_not_of(" \t");
      const auto last = line.find_last_not_of(" \t");
      return line.substr(first, last - first + 1);
    }
  }
  return std::nullopt;
}

std::string last_lines(std::string_view raw, std::size_t count) {
  std::string text = clean_console_text(raw);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.empty() || count == 0) return {};
  std::size_t start = text.size();
  std::size_t found = 0;
  while (found < count) {
    const auto nl = start == 0 ? std::string::npos : text.rfind('\n', start - 1);
    if (nl == std::string::npos) {
      start = 0;
      break;
    }
    start = nl;
    ++found;
  }
  if (found == count) ++start;  // past the line break before the first kept line
  return text.substr(start) + "\n";
}

}  // namespace supervisor
