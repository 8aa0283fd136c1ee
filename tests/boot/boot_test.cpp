// `os-image-composer boot` as a user runs it: the built binary in a
// subprocess. BootCli.* checks argument handling without starting a VM;
// BootCheck.* boots a real (unbootable) disk under QEMU and checks that the
// failure is reported with the console's end and that no QEMU survives, and
// runs --check and --install on a tiny ISO whose boot sector plays the live
// installer and the installed system.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

const fs::path kCli = env_or_empty("OIC_CLI");

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The boot image of tiny_iso: 2048 bytes SeaBIOS loads at 0x7c00. Its first
// sector plays a live environment with its installer: it copies its second
// sector to the first hard disk (int 13h, AH=3) and prints `first_line` on
// COM1 (or the installer's failure line when the BIOS cannot write). The
// second sector, booted from that disk, plays the installed system: it
// prints "Installed system" and a login prompt.
//   7c00: cli; xor ax,ax; mov ds/es/ss,ax; mov sp,0x7c00
//   7c0c: mov ax,0x0301; mov cx,1; mov dx,0x80; mov bx,0x7e00; int 0x13
//   7c1a: jc fail; mov si,0x7c32 (first_line); jmp print
//   7c21: fail: mov si,0x7c67 (failure line)
//   7c24: print: lodsb; test al,al; jz halt; mov dx,0x3f8; out dx,al; jmp print
//   7c2f: halt: hlt; jmp halt
// The installed system's sector is the same print loop with its text at 0x7c16.
std::string tiny_boot_image(const std::string& first_line) {
  static constexpr unsigned char kInstaller[] = {
      0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, 0xbc, 0x00, 0x7c, 0xb8, 0x01, 0x03, 0xb9, 0x01,
      0x00, 0xba, 0x80, 0x00, 0xbb, 0x00, 0x7e, 0xcd, 0x13, 0x72, 0x05, 0xbe, 0x32, 0x7c, 0xeb, 0x03, 0xbe,
      0x67, 0x7c, 0xac, 0x84, 0xc0, 0x74, 0x06, 0xba, 0xf8, 0x03, 0xee, 0xeb, 0xf5, 0xf4, 0xeb, 0xfd};
  static constexpr unsigned char kInstalled[] = {
      0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x16, 0x7c, 0xac, 0x84, 0xc0, 0x74, 0x06, 0xba, 0xf8, 0x03,
      0xee, 0xeb, 0xf5, 0xf4, 0xeb, 0xfd};
  std::string image(2048, '\0');
  image.replace(0, sizeof kInstaller, reinterpret_cast<const char*>(kInstaller), sizeof kInstaller);
  EXPECT_LT(first_line.size(), 0x67u - 0x32u);
  image.replace(0x32, first_line.size(), first_line);
  const std::string failed = "live-installer: installation failed: the BIOS could not write the disk\r\n";
  image.replace(0x67, failed.size(), failed);
  image.replace(512, sizeof kInstalled, reinterpret_cast<const char*>(kInstalled), sizeof kInstalled);
  const std::string prompt = "Installed system\r\ninstalled login: ";
  image.replace(512 + 0x16, prompt.size(), prompt);
  image.replace(512 + 510, 2, "\x55\xaa");
  return image;
}

class BootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(kCli.empty()) << "OIC_CLI must name the binary";
    std::string pattern = (fs::temp_directory_path() / "oic-boot-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "tmp");
    fs::create_directories(root_ / "home");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Starts the CLI with its output in files; the caller waits for it.
  pid_t start(const std::vector<std::string>& args) {
    std::vector<std::string> argv_store = {kCli.string()};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store = {"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + (root_ / "home").string(),
                                          "TMPDIR=" + (root_ / "tmp").string()};
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (root_ / "stdout.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, (root_ / "stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addchdir_np(&actions, root_.c_str());
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << std::strerror(rc);
    return pid;
  }

  Result finish(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    Result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_text(root_ / "stdout.txt");
    r.err = read_text(root_ / "stderr.txt");
    return r;
  }

  Result run(const std::vector<std::string>& args) { return finish(start(args)); }

  fs::path write(const std::string& name, const std::string& bytes) {
    std::ofstream(root_ / name, std::ios::binary) << bytes;
    return root_ / name;
  }

  // A 64 MiB disk with a GPT and one empty Linux partition: nothing to boot.
  fs::path empty_gpt_disk() {
    const fs::path disk = root_ / "empty-gpt.raw";
    std::ofstream(disk, std::ios::binary).close();
    fs::resize_file(disk, 64 << 20);
    const fs::path script = write("layout.sfdisk", "label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, script.c_str(), O_RDONLY, 0);
    std::string program = "/usr/sbin/sfdisk";
    std::string quiet = "-q";
    std::string target = disk.string();
    char* argv[] = {program.data(), quiet.data(), target.data(), nullptr};
    pid_t pid = -1;
    EXPECT_EQ(::posix_spawn(&pid, argv[0], &actions, nullptr, argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "sfdisk failed";
    return disk;
  }

  // PIDs of processes whose command line mentions this test's directory
  // (QEMU names the disk and the vars copy in its argv).
  std::vector<pid_t> processes_using_root() const {
    std::vector<pid_t> found;
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      // A process that ends between listing and read fails the read (ESRCH).
      std::string cmdline;
      try {
        cmdline = read_text(entry.path() / "cmdline");
      } catch (const std::exception&) {
        continue;
      }
      for (char& c : cmdline) c = c == '\0' ? ' ' : c;
      if (contains(cmdline, root_.string()) && contains(cmdline, "qemu")) found.push_back(std::stoi(name));
    }
    return found;
  }

  bool no_qemu_within(std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!processes_using_root().empty()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(100ms);
    }
    return true;
  }

  // A bootable ISO small enough to make here: xorriso around an El Torito
  // no-emulation boot image for SeaBIOS (tiny_boot_image).
  fs::path tiny_iso(const std::string& first_line) {
    if (!fs::exists("/usr/bin/xorriso")) return {};
    fs::create_directories(root_ / "medium");
    write("medium/boot.img", tiny_boot_image(first_line));
    const fs::path iso = root_ / "tiny.iso";
    std::vector<std::string> args = {"/usr/bin/xorriso", "-as", "mkisofs", "-quiet", "-o", iso.string(), "-b",
                                     "boot.img", "-no-emul-boot", "-boot-load-size", "4", (root_ / "medium").string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    EXPECT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "xorriso failed";
    return iso;
  }

  // What was left in the CLI's TMPDIR (empty when it cleaned up).
  std::string tmp_leftovers() const {
    std::string names;
    for (const auto& entry : fs::directory_iterator(root_ / "tmp")) names += entry.path().filename().string() + " ";
    return names;
  }

  fs::path root_;
};

using BootCli = BootTest;
using BootCheck = BootTest;

TEST_F(BootCli, HelpDescribesTheVerbAndItsFlags) {
  const Result r = run({"boot", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* word : {"boot IMAGE", "--check", "--timeout", "--memory", "--cpus", "--accel", "--snapshot",
                           "--serial-log", "--firmware-code", "--firmware-vars", "--kernel", "--append", "--disk",
                           "--install", "--install-timeout", "--keep-disk", "--bios"}) {
    EXPECT_TRUE(contains(r.out, word)) << word;
  }
  EXPECT_TRUE(contains(run({"--help"}).out, "  boot IMAGE"));
}

TEST_F(BootCli, BadArgumentsExitTwoWithAClearMessageAndStartNoVm) {
  const fs::path raw = write("disk.raw", std::string(4096, '\0'));
  const fs::path code = write("code.fd", "c");
  std::string xz(4096, '\0');
  xz.replace(0, 6, std::string("\xfd" "7zXZ\0", 6));
  const fs::path compressed = write("disk.raw.xz", xz);
  struct Case {
    const char* name;
    std::vector<std::string> args;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {"no image", {"boot"}, {"'boot' takes IMAGE, got 0"}},
      {"missing image", {"boot", "absent.raw"}, {"Failed to open image 'absent.raw'", "No such file"}},
      {"missing image with --check", {"boot", "--check", "absent.qcow2"}, {"absent.qcow2"}},
      {"compressed image", {"boot", "--check", compressed.string()},
       {"it is xz-compressed", "Hint: decompress it first (xz -dk", "disk.raw.xz", "an initrd boots with --kernel K"}},
      {"directory", {"boot", root_.string()}, {"not a regular file"}},
      {"bad accel", {"boot", "--accel", "hvf", raw.string()}, {"invalid --accel 'hvf'"}},
      {"timeout without check", {"boot", "--timeout", "5", raw.string()}, {"--timeout needs --check or --install"}},
      {"zero timeout", {"boot", "--check", "--timeout", "0", raw.string()}, {"invalid --timeout 0"}},
      {"tiny memory", {"boot", "--memory", "16", raw.string()}, {"invalid --memory 16"}},
      {"no cpus", {"boot", "--cpus", "0", raw.string()}, {"invalid --cpus 0"}},
      {"code without vars", {"boot", "--firmware-code", code.string(), raw.string()}, {"must be given together"}},
      {"missing vars file", {"boot", "--firmware-code", code.string(), "--firmware-vars", "nope.fd", raw.string()},
       {"Failed to read firmware file 'nope.fd'"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Result r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    for (const std::string& part : c.expected) EXPECT_TRUE(contains(r.err, part)) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(tmp_leftovers(), "");
  }
}

// Each kind of file takes the options that fit it; the kind comes from the
// bytes, not the name (".img" is an initrd or a disk).
TEST_F(BootCli, OptionsThatDoNotFitTheKindOfFileExitTwoNamingTheKind) {
  std::string iso_bytes(0x9000, '\0');
  iso_bytes.replace(0x8001, 5, "CD001");
  const fs::path iso = write("live.img", iso_bytes);
  const fs::path cpio = write("initrd.img", "070701" + std::string(4096, '0'));
  const fs::path gz_initrd = write("small.img", std::string("\x1f\x8b\x08", 3) + std::string(4096, '\0'));
  const fs::path raw = write("disk.img", std::string(4096, '\0'));
  std::string kernel_bytes(4096, '\0');
  kernel_bytes.replace(0x202, 4, "HdrS");
  const fs::path kernel = write("vmlinuz", kernel_bytes);
  const fs::path taken = write("taken.qcow2", "a disk already");
  struct Case {
    const char* name;
    std::vector<std::string> args;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {"initrd without kernel", {"boot", "--check", cpio.string()},
       {"it is an initrd (a cpio archive), which boots only with a kernel", "Hint: add --kernel K"}},
      {"compressed initrd without kernel", {"boot", gz_initrd.string()},
       {"it is gzip-compressed", "an initrd boots with --kernel K"}},
      {"kernel for an iso", {"boot", "--kernel", kernel.string(), iso.string()},
       {"--kernel is for initrds: '" + iso.string() + "' is an ISO image, which boots its own kernel"}},
      {"kernel for a disk", {"boot", "--kernel", kernel.string(), raw.string()},
       {"--kernel is for initrds: '" + raw.string() + "' is a disk image"}},
      {"missing kernel", {"boot", "--kernel", "absent-vmlinuz", cpio.string()},
       {"Failed to open kernel 'absent-vmlinuz'", "No such file"}},
      {"initrd as kernel", {"boot", "--kernel", cpio.string(), cpio.string()}, {"not an x86 Linux kernel"}},
      {"append without kernel", {"boot", "--append", "quiet", iso.string()}, {"--append needs --kernel"}},
      {"disk for a disk", {"boot", "--disk", "4", raw.string()}, {"--disk is for ISO images: '" + raw.string() + "' is a disk image"}},
      {"install for an initrd", {"boot", "--install", "--kernel", kernel.string(), cpio.string()},
       {"--install is for ISO images: '" + cpio.string() + "' is an initrd"}},
      {"snapshot for an iso", {"boot", "--snapshot", iso.string()}, {"--snapshot is for disk images"}},
      {"keep-disk without a disk", {"boot", "--keep-disk", "d.qcow2", iso.string()}, {"--keep-disk needs --disk or --install"}},
      {"install-timeout without install", {"boot", "--check", "--install-timeout", "9", iso.string()},
       {"--install-timeout needs --install"}},
      {"zero disk", {"boot", "--disk", "0", iso.string()}, {"invalid --disk 0"}},
      {"bios with firmware", {"boot", "--bios", "--firmware-code", kernel.string(), "--firmware-vars", kernel.string(),
                              iso.string()}, {"--bios boots SeaBIOS, which takes no --firmware-code"}},
      {"kept disk exists", {"boot", "--install", "--keep-disk", taken.string(), iso.string()},
       {"Failed to create disk '" + taken.string() + "': it already exists"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Result r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    for (const std::string& part : c.expected) EXPECT_TRUE(contains(r.err, part)) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(tmp_leftovers(), "");
    EXPECT_FALSE(fs::exists(root_ / "d.qcow2"));
  }
  EXPECT_EQ(read_text(taken), "a disk already");
}

TEST_F(BootCheck, UnbootableDiskFailsWithTheConsoleTailAndLeavesNothingBehind) {
  const fs::path disk = empty_gpt_disk();
  const std::string before = read_text(disk);
  const fs::path log = root_ / "console.log";
  const auto started = std::chrono::steady_clock::now();
  const Result r = run({"boot", "--check", "--timeout", "40", "--serial-log", log.string(), disk.string()});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "no login prompt on the serial console after 40 s")) << r.err;
  EXPECT_TRUE(contains(r.err, "Last lines of the serial console:")) << r.err;
  // OVMF reports on the serial console that the disk has nothing to boot.
  EXPECT_TRUE(contains(r.err, "BdsDxe")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_GE(took, 40s);
  EXPECT_LT(took, 60s);
  EXPECT_TRUE(no_qemu_within(0ms));
  EXPECT_EQ(tmp_leftovers(), "") << "the private OVMF_VARS copy was left behind";
  EXPECT_TRUE(contains(read_text(log), "BdsDxe")) << "--serial-log did not get the console";
  EXPECT_TRUE(read_text(disk) == before) << "--check modified the image";
}

TEST_F(BootCheck, SigtermStopsTheCheckAndItsVm) {
  const fs::path disk = empty_gpt_disk();
  const pid_t cli = start({"boot", "--check", disk.string()});
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (processes_using_root().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(processes_using_root().empty()) << "qemu did not start";
  ::kill(cli, SIGTERM);
  const Result r = finish(cli);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "interrupted by SIGTERM")) << r.err;
  EXPECT_TRUE(no_qemu_within(0ms));
  EXPECT_EQ(tmp_leftovers(), "");
}

TEST_F(BootCheck, QemuDiesWithAKilledSupervisor) {
  const fs::path disk = empty_gpt_disk();
  const pid_t cli = start({"boot", "--check", disk.string()});
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (processes_using_root().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  ASSERT_FALSE(processes_using_root().empty()) << "qemu did not start";
  ::kill(cli, SIGKILL);
  finish(cli);
  EXPECT_TRUE(no_qemu_within(5s)) << "qemu outlived the supervisor";
}

// Without --check the terminal is the console: run the CLI on a pseudo
// terminal, wait for the firmware's output and quit with Ctrl-A X.
TEST_F(BootCheck, InteractiveConsoleQuitsWithCtrlAX) {
  const fs::path disk = empty_gpt_disk();
  std::string program = kCli.string();
  std::string verb = "boot";
  std::string image = disk.string();
  char* argv[] = {program.data(), verb.data(), image.data(), nullptr};
  const std::string tmpdir = "TMPDIR=" + (root_ / "tmp").string();
  int master = -1;
  const pid_t cli = ::forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(cli, 0);
  if (cli == 0) {
    ::putenv(const_cast<char*>(tmpdir.c_str()));
    ::execv(argv[0], argv);
    ::_exit(127);
  }
  std::string screen;
  auto read_until = [&](const std::string& text, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!contains(screen, text) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(master, chunk, sizeof chunk);
      if (n <= 0) break;
      screen.append(chunk, static_cast<std::size_t>(n));
    }
    return contains(screen, text);
  };
  EXPECT_TRUE(read_until("Ctrl-A X", 10s)) << screen;
  EXPECT_TRUE(read_until("BdsDxe", 90s)) << screen;
  ASSERT_EQ(::write(master, "\x01x", 2), 2);
  read_until("terminating", 20s);
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!(exited = ::waitpid(cli, &status, WNOHANG) == cli) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  if (!exited) {
    ::kill(cli, SIGKILL);
    ::waitpid(cli, &status, 0);
  }
  ::close(master);
  EXPECT_TRUE(exited) << "Ctrl-A X did not end the VM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << screen;
  EXPECT_TRUE(no_qemu_within(0ms));
  EXPECT_EQ(tmp_leftovers(), "");
}

// --install for real, with SeaBIOS and the tiny ISO: the CD-ROM boots first
// with the blank disk attached, the "installer" writes the disk, and the
// disk alone (no CD-ROM, which would print the installer's line again) boots
// to its login prompt.
TEST_F(BootCheck, InstallFromAnIsoWritesTheDiskThenBootsTheDiskAlone) {
  const fs::path iso = tiny_iso("live-installer: installation complete\r\n");
  if (iso.empty()) GTEST_SKIP() << "xorriso is not installed (Debian package xorriso)";
  const fs::path kept = root_ / "installed.qcow2";
  const fs::path log = root_ / "console.log";
  const Result r = run({"boot", iso.string(), "--bios", "--install", "--disk", "1", "--keep-disk", kept.string(),
                        "--timeout", "90", "--install-timeout", "90", "--serial-log", log.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Installation complete after ")) << r.out;
  EXPECT_TRUE(contains(r.out, ": installed login:")) << r.out;
  EXPECT_TRUE(contains(r.out, "Installed disk: " + kept.string())) << r.out;
  EXPECT_EQ(read_text(kept).substr(0, 4), "QFI\xfb");
  const std::string console = read_text(log);
  EXPECT_TRUE(contains(console, "live-installer: installation complete\r\nInstalled system")) << console;
  EXPECT_TRUE(no_qemu_within(0ms));
  EXPECT_EQ(tmp_leftovers(), "");
}

TEST_F(BootCheck, TheInstallersFailureLineEndsTheInstallWithItsReason) {
  const fs::path iso = tiny_iso("live-installer: installation failed: no target\r\n");
  if (iso.empty()) GTEST_SKIP() << "xorriso is not installed (Debian package xorriso)";
  const Result r = run({"boot", iso.string(), "--bios", "--install", "--install-timeout", "90"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "(phase: installer): the installer failed: no target")) << r.err;
  EXPECT_FALSE(contains(r.err, "Installed system")) << "the disk was booted after a failed installation";
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(no_qemu_within(0ms));
  EXPECT_EQ(tmp_leftovers(), "") << "the blank disk was left behind";
}

TEST_F(BootCheck, AnIsoCheckWaitsForTheLiveEnvironmentsPrompt) {
  const fs::path iso = tiny_iso("tiny-live login: ");
  if (iso.empty()) GTEST_SKIP() << "xorriso is not installed (Debian package xorriso)";
  const Result r = run({"boot", iso.string(), "--bios", "--check", "--disk", "1", "--timeout", "90"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, ": tiny-live login:")) << r.out;
  EXPECT_TRUE(no_qemu_within(0ms));
  EXPECT_EQ(tmp_leftovers(), "");
}

}  // namespace
