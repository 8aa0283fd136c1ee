// The pure parts of `boot`: image probing, the QEMU command line, firmware
// lookup and the login-prompt matcher. No VM is started here (tests/boot does).
#include "supervisor/vm/boot_vm.hpp"

#include <stdlib.h>

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {
namespace fs = std::filesystem;
using namespace std::string_literals;

std::string with_magic(std::string magic, std::size_t offset = 0, std::size_t size = 4096) {
  std::string bytes(size, '\0');
  bytes.replace(offset, magic.size(), magic);
  return bytes;
}

using TempDir = ::tests::TempDir;

TEST(ImageProbe, RecognisesEachFormatByItsMagicBytes) {
  struct Case {
    const char* name;
    std::string head;
    std::string tail;
    std::string file;
    DiskFormat format;
    Compression compression;
  };
  const std::string zeros(4096, '\0');
  const Case cases[] = {
      {"qcow2", with_magic("QFI\xfb"), zeros, "disk.img", DiskFormat::kQcow2, Compression::kNone},
      {"vhdx", with_magic("vhdxfile"), zeros, "disk", DiskFormat::kVhdx, Compression::kNone},
      {"vmdk", with_magic("KDMV"), zeros, "disk.vmdk", DiskFormat::kVmdk, Compression::kNone},
      {"vdi banner", with_magic("<<< Oracle VM VirtualBox Disk Image >>>\n"), zeros, "d", DiskFormat::kVdi,
       Compression::kNone},
      {"vdi signature", with_magic("\x7f\x10\xda\xbe", 64), zeros, "d", DiskFormat::kVdi, Compression::kNone},
      {"fixed vhd footer", zeros, with_magic("conectix", 0, 512), "d.vhd", DiskFormat::kVpc, Compression::kNone},
      {"dynamic vhd header", with_magic("conectix"), zeros, "d.vhd", DiskFormat::kVpc, Compression::kNone},
      {"raw", zeros, zeros, "disk.raw", DiskFormat::kRaw, Compression::kNone},
      {"raw named qcow2", zeros, zeros, "disk.qcow2", DiskFormat::kRaw, Compression::kNone},
      {"gzip", with_magic("\x1f\x8b\x08"), zeros, "disk.img", DiskFormat::kRaw, Compression::kGzip},
      {"xz", with_magic("\xfd" "7zXZ\0"s), zeros, "disk.img", DiskFormat::kRaw, Compression::kXz},
      {"zstd", with_magic("\x28\xb5\x2f\xfd"), zeros, "disk.img", DiskFormat::kRaw, Compression::kZstd},
      {"gz by name only", "", "", "disk.raw.gz", DiskFormat::kRaw, Compression::kGzip},
      {"zst by name only", zeros, zeros, "disk.raw.zst", DiskFormat::kRaw, Compression::kZstd},
      {"zstd by name only", zeros, zeros, "disk.raw.zstd", DiskFormat::kRaw, Compression::kZstd},
      {"xz by name only", "abc", "", "disk.img.xz", DiskFormat::kRaw, Compression::kXz},
      {"disk magic wins over a compressed name", with_magic("QFI\xfb"), zeros, "disk.qcow2.xz",
       DiskFormat::kQcow2, Compression::kNone},
      {"short file", "QF", "", "disk.img", DiskFormat::kRaw, Compression::kNone},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const ImageKind kind = probe_image(c.head, c.tail, c.file);
    EXPECT_EQ(qemu_format_name(kind.format), qemu_format_name(c.format));
    EXPECT_EQ(to_string(kind.compression), to_string(c.compression));
  }
}

TEST(DetectDiskFormat, ReadsTheHeaderAndTheFooterOfARealFile) {
  TempDir dir;
  EXPECT_EQ(detect_disk_format(dir.write("a.qcow2", with_magic("QFI\xfb", 0, 8192))), DiskFormat::kQcow2);
  std::string vhd(3 * 512, 'x');
  vhd.replace(vhd.size() - 512, 8, "conectix");
  EXPECT_EQ(detect_disk_format(dir.write("fixed.vhd", vhd)), DiskFormat::kVpc);
  EXPECT_EQ(detect_disk_format(dir.write("a.raw", std::string(100, '\0'))), DiskFormat::kRaw);
}

TEST(DetectDiskFormat, RejectsMissingEmptyDirectoryAndCompressedImagesAsBadInput) {
  TempDir dir;
  struct Case {
    const char* name;
    fs::path path;
    std::string message;
    std::string hint;
  };
  fs::create_directory(dir.path() / "folder");
  const Case cases[] = {
      {"missing", dir.path() / "absent.raw", "absent.raw': No such file or directory", ""},
      {"empty", dir.write("empty.raw", ""), "the file is empty", ""},
      {"directory", dir.path() / "folder", "not a regular file", ""},
      {"xz", dir.write("disk.raw.xz", with_magic("\xfd" "7zXZ\0"s)), "it is xz-compressed", "xz -dk"},
      {"gzip initrd", dir.write("initrd.img", with_magic("\x1f\x8b")), "it is gzip-compressed", "--kernel K"},
      {"gzip", dir.write("disk.img.gz", with_magic("\x1f\x8b")), "it is gzip-compressed", "gzip -dk"},
      {"zstd", dir.write("disk.img.zst", with_magic("\x28\xb5\x2f\xfd")), "it is zstd-compressed", "zstd -d"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      detect_disk_format(c.path);
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find(c.message), std::string::npos) << e.what();
      EXPECT_NE(e.message().find(c.path.filename().string()), std::string::npos) << e.what();
      EXPECT_NE(e.hint().find(c.hint), std::string::npos) << e.what();
    }
  }
}

VmSpec sample_spec() {
  VmSpec spec;
  spec.qemu = "/usr/bin/qemu-system-x86_64";
  spec.image = "/images/disk.raw";
  spec.firmware_code = "/fw/CODE.fd";
  spec.firmware_vars = "/tmp/vars";
  return spec;
}

TEST(QemuArgv, CheckModeUsesTcgACapturedConsoleNoNetworkAndASnapshot) {
  VmSpec spec = sample_spec();
  spec.console = ConsoleMode::kCapture;
  spec.snapshot = true;
  const std::vector<std::string> expected = {
      "/usr/bin/qemu-system-x86_64",
      "-machine", "q35,accel=tcg", "-cpu", "max", "-m", "2048", "-smp", "2",
      "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd",
      "-drive", "if=pflash,format=raw,unit=1,file=/tmp/vars",
      "-drive", "file=/images/disk.raw,format=raw,if=virtio,snapshot=on",
      "-nic", "none",
      "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console", "-monitor", "none",
      "-display", "none", "-no-reboot"};
  EXPECT_EQ(qemu_argv(spec), expected);
}

TEST(QemuArgv, TerminalModeMultiplexesTheMonitorAndAddsNetworkAndTheLog) {
  VmSpec spec = sample_spec();
  spec.kvm = true;
  spec.network = true;
  spec.format = DiskFormat::kQcow2;
  spec.memory_mib = 4096;
  spec.cpus = 1;
  spec.serial_log = "/logs/console.log";
  const std::vector<std::string> argv = qemu_argv(spec);
  auto after = [&](const std::string& flag, std::size_t nth = 0) -> std::string {
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == flag && nth-- == 0) return argv[i + 1];
    }
    return "<missing>";
  };
  EXPECT_EQ(after("-machine"), "q35,accel=kvm");
  EXPECT_EQ(after("-cpu"), "host");
  EXPECT_EQ(after("-m"), "4096");
  EXPECT_EQ(after("-smp"), "1");
  EXPECT_EQ(after("-drive", 2), "file=/images/disk.raw,format=qcow2,if=virtio");
  EXPECT_EQ(after("-nic"), "user,model=virtio-net-pci");
  EXPECT_EQ(after("-chardev"), "stdio,id=console,signal=off,mux=on,logfile=/logs/console.log");
  EXPECT_EQ(after("-mon"), "chardev=console,mode=readline");
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "-monitor"), 0);
}

TEST(QemuArgv, SecureBootFirmwareGetsSmmAndASecurePflash) {
  VmSpec spec = sample_spec();
  spec.firmware_code = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
  const std::vector<std::string> argv = qemu_argv(spec);
  EXPECT_EQ(argv[2], "q35,smm=on,accel=tcg");
  const auto global = std::find(argv.begin(), argv.end(), "-global");
  ASSERT_NE(global, argv.end());
  EXPECT_EQ(*(global + 1), "driver=cfi.pflash01,property=secure,value=on");
  EXPECT_TRUE(firmware_needs_smm("/usr/share/OVMF/OVMF_CODE_4M.ms.fd"));
  EXPECT_TRUE(firmware_needs_smm("OVMF_CODE_4M.snakeoil.fd"));
  EXPECT_FALSE(firmware_needs_smm("/usr/share/OVMF/OVMF_CODE_4M.fd"));
  spec.bios = true;
  EXPECT_EQ(qemu_argv(spec)[2], "q35,accel=tcg");
}

TEST(QemuArgv, DoublesCommasInPathsAsQemuOptionSyntaxRequires) {
  VmSpec spec = sample_spec();
  spec.image = "/images/a,b.raw";
  spec.firmware_vars = "/tmp/v,1";
  spec.serial_log = "/l,og";
  const std::vector<std::string> argv = qemu_argv(spec);
  auto has = [&](const std::string& arg) { return std::find(argv.begin(), argv.end(), arg) != argv.end(); };
  EXPECT_TRUE(has("file=/images/a,,b.raw,format=raw,if=virtio"));
  EXPECT_TRUE(has("if=pflash,format=raw,unit=1,file=/tmp/v,,1"));
  EXPECT_TRUE(has("stdio,id=console,signal=off,mux=on,logfile=/l,,og"));
  // A CD-ROM or a kept disk named to smuggle in a drive option stays one file name.
  spec.image = "/k/d.qcow2,snapshot=off";
  spec.format = DiskFormat::kQcow2;
  spec.cdrom = "/m/x.iso,readonly=off";
  const std::vector<std::string> iso_argv = qemu_argv(spec);
  auto iso_has = [&](const std::string& arg) { return std::find(iso_argv.begin(), iso_argv.end(), arg) != iso_argv.end(); };
  EXPECT_TRUE(iso_has("if=none,id=cdrom,media=cdrom,readonly=on,format=raw,file=/m/x.iso,,readonly=off"));
  EXPECT_TRUE(iso_has("file=/k/d.qcow2,,snapshot=off,format=qcow2,if=none,id=disk,discard=unmap,detect-zeroes=unmap"));
}

TEST(QemuArgv, AnchorsRelativeDrivePathsSoAColonIsNotReadAsAProtocol) {
  VmSpec spec = sample_spec();
  spec.image = "nbd:disk.raw";
  spec.firmware_code = "fw/code.fd";
  const std::vector<std::string> argv = qemu_argv(spec);
  auto has = [&](const std::string& arg) { return std::find(argv.begin(), argv.end(), arg) != argv.end(); };
  EXPECT_TRUE(has("file=./nbd:disk.raw,format=raw,if=virtio"));
  EXPECT_TRUE(has("if=pflash,format=raw,unit=0,readonly=on,file=./fw/code.fd"));
}

// The arguments after "-smp N", up to the NIC: the firmware and the media.
std::vector<std::string> boot_part(const VmSpec& spec) {
  const std::vector<std::string> argv = qemu_argv(spec);
  const auto from = std::find(argv.begin(), argv.end(), "-smp") + 2;
  const auto to = std::find(argv.begin(), argv.end(), "-nic");
  return {from, to};
}

VmSpec iso_spec() {
  VmSpec spec = sample_spec();
  spec.image.clear();
  spec.cdrom = "/images/live.iso";
  return spec;
}

TEST(QemuArgv, IsoUnderOvmfIsAReadOnlyCdromOnAhci) {
  const std::vector<std::string> expected = {
      "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd",
      "-drive", "if=pflash,format=raw,unit=1,file=/tmp/vars",
      "-drive", "if=none,id=cdrom,media=cdrom,readonly=on,format=raw,file=/images/live.iso",
      "-device", "ide-cd,drive=cdrom,bootindex=0"};
  EXPECT_EQ(boot_part(iso_spec()), expected);
}

TEST(QemuArgv, IsoUnderSeabiosHasNoFirmwareDrivesAndBootsTheCdromBeforeTheDisk) {
  VmSpec spec = iso_spec();
  spec.bios = true;
  spec.image = "/tmp/scratch/disk.qcow2";
  spec.format = DiskFormat::kQcow2;
  const std::vector<std::string> expected = {
      "-drive", "if=none,id=cdrom,media=cdrom,readonly=on,format=raw,file=/images/live.iso",
      "-device", "ide-cd,drive=cdrom,bootindex=0",
      "-drive", "file=/tmp/scratch/disk.qcow2,format=qcow2,if=none,id=disk,discard=unmap,detect-zeroes=unmap",
      "-device", "virtio-blk-pci,drive=disk,bootindex=1"};
  EXPECT_EQ(boot_part(spec), expected);
}

TEST(QemuArgv, InstalledSystemBootsTheDiskAloneWithTheSameFirmware) {
  VmSpec spec = sample_spec();
  spec.image = "/tmp/scratch/disk.qcow2";
  spec.format = DiskFormat::kQcow2;
  spec.snapshot = true;
  spec.serial_log = "/logs/console.log";
  spec.serial_log_append = true;
  spec.console = ConsoleMode::kCapture;
  const std::vector<std::string> expected = {
      "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd",
      "-drive", "if=pflash,format=raw,unit=1,file=/tmp/vars",
      "-drive", "file=/tmp/scratch/disk.qcow2,format=qcow2,if=virtio,snapshot=on"};
  EXPECT_EQ(boot_part(spec), expected);
  const std::vector<std::string> argv = qemu_argv(spec);
  EXPECT_NE(std::find(argv.begin(), argv.end(), "stdio,id=console,signal=off,logfile=/logs/console.log,logappend=on"),
            argv.end());
  spec.bios = true;
  EXPECT_EQ(boot_part(spec), std::vector<std::string>(expected.end() - 2, expected.end()));
}

TEST(QemuArgv, InitrdBootsTheKernelDirectlyWithItsCommandLineAndNoDrive) {
  VmSpec spec = sample_spec();
  spec.image.clear();
  spec.kernel = "/out/vmlinuz-6.1.0-28-amd64";
  spec.initrd = "/out/initrd,1.img";
  spec.append = "console=ttyS0,115200 console=tty0";
  const std::vector<std::string> expected = {
      "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd",
      "-drive", "if=pflash,format=raw,unit=1,file=/tmp/vars",
      "-kernel", "/out/vmlinuz-6.1.0-28-amd64",
      "-initrd", "/out/initrd,1.img",
      "-append", "console=ttyS0,115200 console=tty0"};
  EXPECT_EQ(boot_part(spec), expected);
  spec.bios = true;
  EXPECT_EQ(boot_part(spec), std::vector<std::string>(expected.begin() + 4, expected.end()));
}

TEST(QemuArgv, RefusesASpecWithNothingToBootOrAKernelBesideADrive) {
  VmSpec nothing = sample_spec();
  nothing.image.clear();
  EXPECT_THROW(qemu_argv(nothing), base::Error);
  VmSpec both = iso_spec();
  both.kernel = "/out/vmlinuz";
  EXPECT_THROW(qemu_argv(both), base::Error);
}

TEST(ShellQuote, QuotesOnlyWhatAShellWouldSplitOrExpand) {
  EXPECT_EQ(shell_quote({"qemu", "-m", "2048", "file=/a,b"}), "qemu -m 2048 file=/a,b");
  EXPECT_EQ(shell_quote({"a b", "it's", ""}), "'a b' 'it'\\''s' ''");
}

TEST(ParseAccel, AcceptsAutoKvmTcgOnly) {
  EXPECT_EQ(parse_accel("auto"), Accel::kAuto);
  EXPECT_EQ(parse_accel("kvm"), Accel::kKvm);
  EXPECT_EQ(parse_accel("tcg"), Accel::kTcg);
  EXPECT_EQ(parse_accel("KVM"), std::nullopt);
  EXPECT_EQ(parse_accel(""), std::nullopt);
}

TEST(CpuFlags, VirtualizationNeedsVmxOrSvmAsWholeWordsInTheFlagsLine) {
  EXPECT_TRUE(cpu_supports_virtualization("processor\t: 0\nflags\t\t: fpu vme vmx sse\n"));
  EXPECT_TRUE(cpu_supports_virtualization("flags\t\t: fpu svm\n"));
  EXPECT_FALSE(cpu_supports_virtualization("flags\t\t: fpu vme sse hypervisor\n"));
  EXPECT_FALSE(cpu_supports_virtualization("flags\t\t: vmxx svm_lock\nmodel name\t: vmx\n"));
  EXPECT_FALSE(cpu_supports_virtualization(""));
}

TEST(FindFirmware, PrefersThe4MPairThenTheLegacyPair) {
  TempDir dir;
  dir.write("OVMF_CODE.fd", "c");
  dir.write("OVMF_VARS.fd", "v");
  Firmware fw = find_firmware(std::nullopt, std::nullopt, dir.path());
  EXPECT_EQ(fw.code, dir.path() / "OVMF_CODE.fd");
  EXPECT_EQ(fw.vars, dir.path() / "OVMF_VARS.fd");
  // A 4M code file without its vars template is not a pair.
  dir.write("OVMF_CODE_4M.fd", "c");
  EXPECT_EQ(find_firmware(std::nullopt, std::nullopt, dir.path()).code, dir.path() / "OVMF_CODE.fd");
  dir.write("OVMF_VARS_4M.fd", "v");
  fw = find_firmware(std::nullopt, std::nullopt, dir.path());
  EXPECT_EQ(fw.code, dir.path() / "OVMF_CODE_4M.fd");
  EXPECT_EQ(fw.vars, dir.path() / "OVMF_VARS_4M.fd");
}

TEST(FindFirmware, MissingFirmwareNamesThePackageAndOverridesGoInPairs) {
  TempDir dir;
  try {
    find_firmware(std::nullopt, std::nullopt, dir.path());
    ADD_FAILURE() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kFailed);
    EXPECT_NE(e.hint().find("Debian package: ovmf"), std::string::npos) << e.what();
    EXPECT_EQ(e.hint().find("apt-get"), std::string::npos) << e.what();
  }
  const fs::path code = dir.write("code.fd", "c");
  EXPECT_THROW(find_firmware(code, std::nullopt, dir.path()), base::Error);
  EXPECT_THROW(find_firmware(code, dir.path() / "absent.fd", dir.path()), base::Error);
  const fs::path vars = dir.write("vars.fd", "v");
  const Firmware fw = find_firmware(code, vars, dir.path());
  EXPECT_EQ(fw.code, code);
  EXPECT_EQ(fw.vars, vars);
}

TEST(VmScratch, EachVmGetsItsOwnVarsCopyAndEverythingIsRemovedAfterwards) {
  TempDir dir;
  const fs::path source = dir.write("OVMF_VARS.fd", "variables");
  fs::path first;
  {
    VmScratch a(source);
    VmScratch b(source);
    first = a.dir();
    EXPECT_NE(a.dir(), b.dir());
    EXPECT_EQ(a.vars().parent_path(), a.dir());
    std::ifstream in(a.vars());
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "variables");
    std::ofstream(a.dir() / "vl.overlay") << "qemu's temporary file";
  }
  EXPECT_FALSE(fs::exists(first));
}

TEST(ConsoleText, DropsEscapeSequencesAndNormalisesLineBreaks) {
  struct Case {
    std::string raw;
    std::string clean;
  };
  const Case cases[] = {
      {"\x1b[0m\x1b[1;32m  OK  \x1b[0m] Reached\r\n", "  OK  ] Reached\n"},
      {"a\rb\r\r\nc\n", "a\nb\nc\n"},
      {"\x1b]0;title\x07text", "text"},
      {"\x1b(Bplain\x1b[?25l\x1b[2J", "plain"},
      {"bell\x07 and \x08 back", "bell and  back"},
      {"unfinished \x1b[", "unfinished "},
      {"caf\xc3\xa9\ttab", "caf\xc3\xa9\ttab"},
  };
  for (const Case& c : cases) EXPECT_EQ(clean_console_text(c.raw), c.clean) << c.raw;
}

TEST(LoginPrompt, FindsTheGettyPromptThroughEscapesAndCarriageReturns) {
  struct Case {
    std::string console;
    std::optional<std::string> prompt;
  };
  const Case cases[] = {
      {"Debian GNU/Linux 12 debian12-minimal ttyS0\r\n\r\ndebian12-minimal login: ", "debian12-minimal login:"},
      {"\x1b[0;1;39mfoo\x1b[0m\r\nvm.example.org login:", "vm.example.org login:"},
      {"\r\x1b[Khost login: \x1b[?25h", "host login:"},
      {"login: ", "login:"},
      {"edge-node-1 login: [   31.415] random: crng init done\r\n", "edge-node-1 login: [   31.415] random: crng init done"},
      {"[  OK  ] Reached target getty.target - Login Prompts.\r\n", std::nullopt},
      {"         Starting systemd-logind.service - User Login Management...\r\n", std::nullopt},
      {"pam_unix(login:session): session opened\r\n", std::nullopt},
      {"mylogin: x\r\n", std::nullopt},
      {"BdsDxe: failed to load Boot0001\r\nShell> ", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.console);
    EXPECT_EQ(find_login_prompt(c.console), c.prompt);
  }
}

TEST(LastLines, KeepsTheEndOfTheCleanedConsole) {
  EXPECT_EQ(last_lines("a\r\nb\r\nc\r\n", 2), "b\nc\n");
  EXPECT_EQ(last_lines("a\nb\nc", 2), "b\nc\n");
  EXPECT_EQ(last_lines("a\nb", 5), "a\nb\n");
  EXPECT_EQ(last_lines("\x1b[2J", 5), "");
  EXPECT_EQ(last_lines("one", 1), "one\n");
  EXPECT_EQ(last_lines("a\nb", 0), "");
}

}  // namespace
}  // namespace supervisor
