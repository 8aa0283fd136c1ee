#include "supervisor/boot_vm.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char** environ;

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "ipc/error.hpp"
#include "sandbox/unique_fd.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using sandbox::UniqueFd;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kHeadBytes = 4096;
constexpr std::size_t kFooterBytes = 512;
// Console text kept in memory for the tail; older output is dropped.
constexpr std::size_t kConsoleKeep = 1 << 20;
constexpr std::size_t kStderrKeep = 64 << 10;
constexpr auto kStopGrace = std::chrono::seconds(10);

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

std::string read_at(int fd, std::size_t size, off_t offset, const fs::path& image) {
  std::string bytes(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, bytes.data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    ipc::check_syscall(n, "read image", image.string());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

// QEMU option values are comma-separated; a literal comma is written twice.
std::string option_value(const fs::path& path) {
  std::string out;
  for (char c : path.string()) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

// A -drive file: "name:rest" would be read as protocol "name"; a relative
// path is anchored with "./" so that it never is.
std::string drive_file(const fs::path& path) {
  return option_value(path.is_relative() ? "." / path : path);
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
  const int raw_fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw_fd < 0) {
    const int e = errno;
    throw ipc::Error(ipc::ErrorKind::kInvalidInput,
                     "Failed to open image '" + image.string() + "': " + std::strerror(e))
        .with_errno(e);
  }
  UniqueFd fd(raw_fd);
  struct stat st {};
  ipc::check_syscall(::fstat(fd.get(), &st), "inspect image", image.string());
  ipc::require(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode),
               "Failed to boot image '" + image.string() + "': not a regular file or block device");
  const off_t size = S_ISBLK(st.st_mode) ? ::lseek(fd.get(), 0, SEEK_END) : st.st_size;
  ipc::require(size > 0, "Failed to boot image '" + image.string() + "': the file is empty");
  const std::string head = read_at(fd.get(), kHeadBytes, 0, image);
  const std::string tail = size >= static_cast<off_t>(kFooterBytes)
                               ? read_at(fd.get(), kFooterBytes, size - static_cast<off_t>(kFooterBytes), image)
                               : std::string();
  const ImageKind kind = probe_image(head, tail, image.filename().string());
  if (kind.compression != Compression::kNone) {
    throw ipc::Error(ipc::ErrorKind::kInvalidInput,
                     "Failed to boot image '" + image.string() + "': it is " +
                         std::string(to_string(kind.compression)) + "-compressed; QEMU boots only uncompressed images")
        .with_hint("decompress it first (" + decompress_command(kind.compression, image) + ") and boot the result");
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
  ipc::require(code.has_value() == vars.has_value(),
               "--firmware-code and --firmware-vars must be given together (a CODE file and its matching VARS template)");
  if (code) {
    for (const fs::path& file : {*code, *vars}) {
      ipc::require(is_readable_file(file), "Failed to read firmware file '" + file.string() + "': not a readable file");
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
  throw ipc::Error(ipc::ErrorKind::kFailed,
                   "Failed to find the OVMF UEFI firmware: neither OVMF_CODE_4M.fd + OVMF_VARS_4M.fd nor "
                   "OVMF_CODE.fd + OVMF_VARS.fd is in '" + search_dir.string() + "'")
      .with_hint("install it (sudo apt-get install ovmf) or pass --firmware-code and --firmware-vars");
}

fs::path find_qemu() {
  constexpr std::string_view kName = "qemu-system-x86_64";
  std::vector<fs::path> dirs;
  std::istringstream path(env_or_empty("PATH"));
  for (std::string dir; std::getline(path, dir, ':');) {
    if (!dir.empty()) dirs.emplace_back(dir);
  }
  dirs.emplace_back("/usr/bin");
  for (const fs::path& dir : dirs) {
    if (is_executable_file(dir / kName)) return dir / kName;
  }
  throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to find the program qemu-system-x86_64 in PATH or /usr/bin")
      .with_hint("install it: sudo apt-get install qemu-system-x86");
}

std::vector<std::string> qemu_argv(const VmSpec& spec) {
  const std::string accel = spec.kvm ? "kvm" : "tcg";
  std::vector<std::string> argv = {
      spec.qemu.string(),
      "-machine", "q35,accel=" + accel,
      "-cpu", spec.kvm ? "host" : "max",
      "-m", std::to_string(spec.memory_mib),
      "-smp", std::to_string(spec.cpus),
      "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + drive_file(spec.firmware_code),
      "-drive", "if=pflash,format=raw,unit=1,file=" + drive_file(spec.firmware_vars),
  };
  std::string disk = "file=" + drive_file(spec.image) + ",format=" + std::string(qemu_format_name(spec.format)) +
                     ",if=virtio";
  if (spec.snapshot) disk += ",snapshot=on";
  argv.insert(argv.end(), {"-drive", disk});
  argv.insert(argv.end(), {"-nic", spec.network ? "user,model=virtio-net-pci" : "none"});
  // signal=off: Ctrl-C belongs to the guest, not to QEMU.
  std::string chardev = "stdio,id=console,signal=off";
  if (spec.console == ConsoleMode::kTerminal) chardev += ",mux=on";
  if (spec.serial_log) chardev += ",logfile=" + option_value(*spec.serial_log);
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

VmScratch::VmScratch(const fs::path& vars_template) {
  std::string pattern = (fs::temp_directory_path() / "oic-boot-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) ipc::check_syscall(-1, "create a temporary directory", pattern);
  dir_ = pattern;
  std::error_code ec;
  fs::copy_file(vars_template, vars(), ec);
  if (ec) {
    fs::remove_all(dir_, ec);
    throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to copy firmware variables '" + vars_template.string() +
                                                  "' to '" + pattern + "': " + ec.message());
  }
}

VmScratch::~VmScratch() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

namespace {

// Blocks SIGINT, SIGTERM and SIGHUP while a VM runs and delivers them through
// a signalfd, so the wait loop handles them like any other event.
class SignalGate {
 public:
  SignalGate() {
    sigemptyset(&set_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, sig);
    ipc::check_syscall(::sigprocmask(SIG_BLOCK, &set_, &previous_), "block signals");
    fd_ = UniqueFd(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) {
      const int e = errno;
      ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
      errno = e;
      ipc::check_syscall(-1, "create a signalfd");
    }
  }
  ~SignalGate() { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }
  SignalGate(const SignalGate&) = delete;
  SignalGate& operator=(const SignalGate&) = delete;

  int fd() const { return fd_.get(); }
  // The signal that arrived, or 0.
  int take() {
    signalfd_siginfo info {};
    return ::read(fd_.get(), &info, sizeof info) == sizeof info ? static_cast<int>(info.ssi_signo) : 0;
  }

 private:
  sigset_t set_ {};
  sigset_t previous_ {};
  UniqueFd fd_;
};

struct ChildStdio {
  int in = -1;
  int out = -1;
  int err = -1;
  bool take_terminal = false;  // make the child the terminal's foreground process group
};

// QEMU in its own process group. The destructor kills the group and reaps
// it, so no path out of a VM run leaves QEMU behind.
class VmProcess {
 public:
  VmProcess(const std::vector<std::string>& args, const fs::path& temp_dir, const ChildStdio& io) {
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
    pid_ = ipc::check_syscall(::fork(), "start", args.front());
    if (pid_ == 0) exec_child(argv, envp, io, parent);
    ::setpgid(pid_, pid_);  // also done by the child; whichever runs first wins
    const long pidfd = ::syscall(SYS_pidfd_open, pid_, 0);
    if (pidfd < 0) {
      kill_group();
      ipc::check_syscall(-1, "open a pidfd for", args.front());
    }
    pidfd_ = UniqueFd(static_cast<int>(pidfd));
  }
  ~VmProcess() {
    if (!reaped_) {
      kill_group();
      wait();
    }
  }
  VmProcess(const VmProcess&) = delete;
  VmProcess& operator=(const VmProcess&) = delete;

  int pidfd() const { return pidfd_.get(); }
  bool running() const { return !reaped_; }
  void kill_group(int sig = SIGKILL) const {
    ::kill(-pid_, sig);
    ::kill(pid_, sig);  // in case the child has not reached setpgid yet
  }
  // Reaps QEMU; returns its wait status.
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  }
  // SIGTERM lets QEMU flush the image; SIGKILL after the grace period.
  int stop(std::chrono::milliseconds grace) {
    kill_group(SIGTERM);
    pollfd p{pidfd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(grace.count())) == 0) kill_group(SIGKILL);
    return wait();
  }

 private:
  [[noreturn]] static void exec_child(std::vector<char*>& argv, std::vector<char*>& envp, const ChildStdio& io,
                                      pid_t parent) {
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

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  bool reaped_ = false;
};

std::string signal_name(int sig) {
  const char* name = ::sigabbrev_np(sig);
  return name ? std::string("SIG") + name : "signal " + std::to_string(sig);
}

// Gives the terminal back to this process group and restores its modes
// (QEMU puts it in raw mode and cannot undo that when it is killed).
class TerminalGuard {
 public:
  TerminalGuard() {
    active_ = ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp() &&
              ::tcgetattr(STDIN_FILENO, &saved_) == 0;
  }
  ~TerminalGuard() {
    if (!active_) return;
    struct sigaction ignore {};
    struct sigaction previous {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGTTOU, &ignore, &previous);
    ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
    ::tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_);
    ::sigaction(SIGTTOU, &previous, nullptr);
  }
  TerminalGuard(const TerminalGuard&) = delete;
  TerminalGuard& operator=(const TerminalGuard&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
  termios saved_ {};
};

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  ipc::check_syscall(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), "create a pipe for", "qemu");
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

int run_vm_interactive(const VmSpec& spec) {
  ipc::check(spec.console == ConsoleMode::kTerminal, "run_vm_interactive needs ConsoleMode::kTerminal");
  const std::vector<std::string> argv = qemu_argv(spec);
  SignalGate signals;
  TerminalGuard terminal;
  VmProcess vm(argv, spec.temp_dir, ChildStdio{.take_terminal = terminal.active()});
  pollfd fds[2] = {{vm.pidfd(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ipc::check_syscall(-1, "wait for", "qemu");
    }
    if (fds[0].revents != 0) break;
    if (fds[1].revents != 0) {
      const int sig = signals.take();
      if (sig == 0) continue;
      vm.stop(kStopGrace);
      throw ipc::Error(ipc::ErrorKind::kFailed, "Stopped the VM on " + signal_name(sig));
    }
  }
  const int status = vm.wait();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

LoginCheck wait_for_login(const VmSpec& spec, std::chrono::seconds timeout) {
  ipc::check(spec.console == ConsoleMode::kCapture, "wait_for_login needs ConsoleMode::kCapture");
  const std::vector<std::string> argv = qemu_argv(spec);
  SignalGate signals;
  auto [console_read, console_write] = make_pipe();
  auto [err_read, err_write] = make_pipe();
  const UniqueFd null_fd(ipc::check_syscall(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null"));
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
    ipc::check_syscall(ready, "wait for", "qemu");
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
