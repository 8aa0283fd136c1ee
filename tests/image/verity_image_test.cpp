// A Debian 12 image with a read-only root on dm-verity, signed for Secure
// Boot (templates/debian12-verity.yml with the Secure Boot keys of Debian's
// OVMF test key, PkKek-1-snakeoil, whose certificate OVMF_VARS_4M.snakeoil.fd
// enrols), built once from this machine's Debian mirror:
// - read from outside: the root hash the build logged is in the UKI's
//   command line on the ESP, veritysetup verify accepts the root partition
//   against the hash partition with it, / is mounted ro in fstab, every EFI
//   binary on the ESP passes sbverify with the certificate, DB.cer is
//   published;
// - booted (QEMU TCG, OVMF with Secure Boot enforcing): the kernel reports
//   Secure Boot on, a probe prints on the serial console that / is
//   /dev/mapper/root, verified and read-only while /etc and /var are
//   writable, then the login prompt comes;
// - a copy with one byte changed in the data block of a file of / boots, and
//   reading that file fails (dm-verity returns an I/O error);
// - a copy with one byte of its UKI changed, and a copy whose EFI binaries'
//   signatures are removed, are refused by the firmware.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/image/disk_inspect.hpp"
#include "tests/image/image_workspace.hpp"
#include "tests/image/secure_boot_fixture.hpp"
#include "tests/image/verity_probe.hpp"
#include "tests/live/live_support.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kBootTimeoutSeconds = 400;
// A refused binary is reported within seconds of the firmware's start.
constexpr int kRefusedBootSeconds = 60;
constexpr const char* kProvider = "debian-debian12-x86_64";
constexpr const char* kProbeData = "/usr/share/oic-verity-probe/data";

std::string logged_root_hash(const std::string& log) {
  std::smatch m;
  static const std::regex pattern("dm-verity root hash ([0-9a-f]{64})");
  return std::regex_search(log, m, pattern) ? m[1].str() : "";
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The firmware (BdsDxe loading the disk's BOOTX64.EFI) or systemd-boot
// (loading the UKI) names the refusal; OVMF's own shell, refused too, is not
// the image's.
bool refused_by_firmware(const std::string& console) {
  static const std::regex refusal("access denied|security violation", std::regex::icase);
  std::istringstream lines(console);
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, refusal) && line.find("Internal Shell") == std::string::npos) return true;
  }
  return false;
}

class VerityImage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pre_ = check_preconditions();
    if (pre_.skip.empty() && pre_.missing.empty()) pre_.missing = missing_secure_boot_tools();
    if (!pre_.met()) return;
    workspace_ = std::make_unique<ImageWorkspace>("oic-verity");
    build_ = workspace_->build(
        write_signed_template(workspace_->root() / "template", "debian12-verity.yml", "debian12-verity-signed.yml"));
    std::cout << "[ image    ] build of the signed dm-verity image: " << build_.seconds << " s\n";
  }
  static void TearDownTestSuite() { workspace_.reset(); }

  void SetUp() override {
    if (!pre_.skip.empty()) GTEST_SKIP() << pre_.skip;
    ASSERT_TRUE(pre_.missing.empty()) << pre_.missing;
    ASSERT_EQ(build_.result.exit_code, 0) << build_.tail();
  }

  static ImageOutputs outputs() { return {workspace_->output_dir(kProvider, "Verity_Raw"), "oic-verity-1.0.0"}; }
  static fs::path scratch() { return workspace_->root() / "scratch"; }
  static std::vector<Partition> partitions() { return read_partition_table(outputs().raw(), scratch()); }

  // Boots `image` with Secure Boot enforcing, waiting `timeout` seconds for
  // its login prompt; returns the exit code and the serial console.
  static std::pair<int, std::string> secure_boot(const fs::path& image, const std::string& what, int timeout) {
    std::string file_name = what;
    for (char& c : file_name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
    const fs::path console = workspace_->root() / (file_name + ".console");
    const TimedRun run = workspace_->cli({"boot", image.string(), "--check", "--timeout", std::to_string(timeout),
                                          "--firmware-code", kSecureBootCode, "--firmware-vars", kSnakeoilVars,
                                          "--serial-log", console.string()});
    std::cout << "[ image    ] Secure Boot of the " << what << ": exit " << run.result.exit_code << " after "
              << run.seconds << " s\n";
    return {run.result.exit_code, fs::exists(console) ? read_text(console) : ""};
  }

  // Boots `image` to its login prompt; returns the serial console.
  static std::string boot(const fs::path& image, const std::string& what) {
    auto [exit_code, console] = secure_boot(image, what, kBootTimeoutSeconds);
    EXPECT_EQ(exit_code, 0) << "no login prompt: " << console.substr(console.size() > 6000 ? console.size() - 6000 : 0);
    return console;
  }

  // A copy of the image with `change` applied to the ESP file at `path`.
  static fs::path copy_with_esp_file_changed(const std::string& name, const std::vector<std::string>& paths,
                                             const std::function<void(const fs::path&)>& change) {
    const fs::path copy = workspace_->root() / (name + ".raw");
    EXPECT_EQ(run_tool({"cp", "--sparse=always", outputs().raw().string(), copy.string()}, scratch()).exit_code, 0);
    const std::string drive = copy.string() + "@@" + std::to_string(partitions()[0].offset);
    for (const std::string& path : paths) {
      const fs::path file = scratch() / "esp-file.efi";
      fs::remove(file);
      EXPECT_EQ(run_tool({"mcopy", "-n", "-i", drive, "::" + path, file.string()}, scratch()).exit_code, 0) << path;
      change(file);
      const RunResult put = run_tool({"mcopy", "-o", "-i", drive, file.string(), "::" + path}, scratch());
      EXPECT_EQ(put.exit_code, 0) << path << ": " << put.err;
    }
    return copy;
  }

  static std::vector<std::string> efi_binaries() {
    const FatReader esp(outputs().raw(), partitions()[0].offset, scratch() / "esp");
    std::vector<std::string> found;
    for (const std::string& path : esp.list_tree()) {
      std::string lower_path = lower(path);
      if (lower_path.ends_with(".efi")) found.push_back(path);
    }
    return found;
  }

  static inline Preconditions pre_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
  static inline TimedRun build_;
};

TEST_F(VerityImage, TheRootHashIsInTheUkiAndVerifiesTheRootPartition) {
  const std::string root_hash = logged_root_hash(build_.output());
  ASSERT_EQ(root_hash.size(), 64u) << "the build logged no root hash: " << build_.tail();
  const std::vector<Partition> table = partitions();
  ASSERT_EQ(table.size(), 4u);

  const FatReader esp(outputs().raw(), table[0].offset, scratch() / "esp");
  std::vector<std::string> ukis;
  for (const std::string& path : esp.list_tree()) {
    if (path.starts_with("/EFI/Linux/") && path.ends_with(".efi")) ukis.push_back(path);
  }
  ASSERT_EQ(ukis.size(), 1u) << "one UKI in /EFI/Linux";
  const std::optional<std::string> uki = esp.read_file(ukis[0]);
  ASSERT_TRUE(uki.has_value());
  EXPECT_THAT(*uki, HasSubstr("root=/dev/mapper/root ro roothash=" + root_hash +
                              " systemd.verity_root_data=PARTUUID=" + lower(table[1].uuid) +
                              " systemd.verity_root_hash=PARTUUID=" + lower(table[2].uuid)));
  EXPECT_THAT(*uki, ::testing::Not(HasSubstr("placeholder")));

  // Every EFI binary on the ESP is signed by the DB key; DB.cer is published.
  const std::vector<std::string> binaries = efi_binaries();
  EXPECT_GE(binaries.size(), 3u) << "BOOTX64.EFI, systemd-bootx64.efi and the UKI";
  for (const std::string& path : binaries) {
    const fs::path file = scratch() / "signed.efi";
    std::ofstream(file, std::ios::binary) << esp.read_file(path).value_or("");
    const RunResult check = run_tool({"sbverify", "--cert", kSnakeoilCert, file.string()}, scratch());
    EXPECT_EQ(check.exit_code, 0) << path << " is not signed by the DB key: " << check.out << check.err;
  }
  EXPECT_TRUE(fs::is_regular_file(outputs().dir / "DB.cer"));
  EXPECT_THAT(read_text(outputs().sums()), HasSubstr("DB.cer"));

  const fs::path data = scratch() / "root.img", hash = scratch() / "hash.img";
  const auto extract = [&](const Partition& p, const fs::path& to) {
    return run_tool({"dd", "if=" + outputs().raw().string(), "of=" + to.string(), "bs=1M",
                     "skip=" + std::to_string(p.offset >> 20), "count=" + std::to_string(p.size >> 20),
                     "status=none"},
                    scratch());
  };
  ASSERT_EQ(extract(table[1], data).exit_code, 0);
  ASSERT_EQ(extract(table[2], hash).exit_code, 0);
  const RunResult verify = run_tool({"veritysetup", "verify", data.string(), hash.string(), root_hash}, scratch());
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  fs::remove(data);
  fs::remove(hash);

  const Ext4Reader rootfs(outputs().raw(), table[1].offset, scratch() / "ext4");
  const std::vector<FstabEntry> fstab = parse_fstab(rootfs.read_file("/etc/fstab").value_or(""));
  const auto root = std::find_if(fstab.begin(), fstab.end(), [](const FstabEntry& e) { return e.mount_point == "/"; });
  ASSERT_NE(root, fstab.end());
  EXPECT_EQ(root->options, "ro");
}

TEST_F(VerityImage, BootsUnderSecureBootWithAVerifiedReadOnlyRootAndWritableState) {
  const std::string console = boot(outputs().raw(), "signed dm-verity image");
  EXPECT_THAT(console, HasSubstr("Secure boot enabled"));
  expect_verified_root(console);
}

// Runs after the boot above (definition order): it changes a copy.
TEST_F(VerityImage, AChangedByteOfTheRootFailsItsRead) {
  const std::vector<Partition> table = partitions();
  const Ext4Reader rootfs(outputs().raw(), table[1].offset, scratch() / "ext4");
  const RunResult bmap = run_tool({"debugfs", "-R", std::string("bmap ") + kProbeData + " 0",
                                   outputs().raw().string() + "?offset=" + std::to_string(table[1].offset)},
                                  scratch());
  ASSERT_EQ(bmap.exit_code, 0) << bmap.err;
  const std::uint64_t block = std::stoull(bmap.out);
  ASSERT_GT(block, 0u) << bmap.out;

  const fs::path copy = workspace_->root() / "tampered.raw";
  ASSERT_EQ(run_tool({"cp", "--sparse=always", outputs().raw().string(), copy.string()}, scratch()).exit_code, 0);
  {
    const int fd = ::open(copy.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    char byte = 0;
    const off_t at = static_cast<off_t>(table[1].offset + block * 4096 + 100);
    ASSERT_EQ(::pread(fd, &byte, 1, at), 1);
    byte = static_cast<char>(byte ^ 0x01);
    ASSERT_EQ(::pwrite(fd, &byte, 1, at), 1);
    ::close(fd);
  }
  const std::string console = boot(copy, "image with a changed byte of /");
  EXPECT_EQ(verity_probe_value(console, "read"), "failed") << console.substr(console.size() > 6000 ? console.size() - 6000 : 0);
  EXPECT_THAT(console, HasSubstr("verity"));
  fs::remove(copy);
}

// Stops a boot that should be refused at the refusal (or at a login prompt,
// the failure), not at the timeout.
bool refused_or_login(const std::string& console) {
  return refused_by_firmware(console) || console.find("login:") != std::string::npos;
}

TEST_F(VerityImage, TheFirmwareRefusesTheUkiWithAChangedByte) {
  std::vector<std::string> ukis;
  for (const std::string& path : efi_binaries()) {
    if (path.starts_with("/EFI/Linux/")) ukis.push_back(path);
  }
  ASSERT_EQ(ukis.size(), 1u);
  const fs::path copy = copy_with_esp_file_changed("changed-uki", ukis, [](const fs::path& file) {
    std::fstream uki(file, std::ios::in | std::ios::out | std::ios::binary);
    uki.seekg(static_cast<std::streamoff>(fs::file_size(file) / 2));
    const char byte = static_cast<char>(uki.peek() ^ 0x01);
    uki.seekp(static_cast<std::streamoff>(fs::file_size(file) / 2));
    uki.put(byte);
  });
  const std::string console = secure_boot_until(*workspace_, copy, "image with a changed byte of its UKI",
                                                refused_or_login, kRefusedBootSeconds);
  EXPECT_THAT(console, Not(HasSubstr("login:"))) << "it booted to a login prompt";
  EXPECT_TRUE(refused_by_firmware(console)) << console.substr(console.size() > 4000 ? console.size() - 4000 : 0);
  EXPECT_THAT(console, Not(HasSubstr("Linux version")));
  fs::remove(copy);
}

TEST_F(VerityImage, TheFirmwareRefusesAnUnsignedImage) {
  const fs::path copy = copy_with_esp_file_changed("unsigned", efi_binaries(), [&](const fs::path& file) {
    const RunResult removed = run_tool({"sbattach", "--remove", file.string()}, scratch());
    EXPECT_EQ(removed.exit_code, 0) << removed.err;
  });
  const std::string console =
      secure_boot_until(*workspace_, copy, "image without signatures", refused_or_login, kRefusedBootSeconds);
  EXPECT_THAT(console, Not(HasSubstr("login:"))) << "it booted to a login prompt";
  EXPECT_TRUE(refused_by_firmware(console)) << console.substr(console.size() > 4000 ? console.size() - 4000 : 0);
  EXPECT_THAT(console, ::testing::Not(HasSubstr("Linux version")));
  fs::remove(copy);
}

// Only stage-signer is given the DB key: no line of its PEM body is in the
// image, the outputs, the build's work directories and logs, or the build
// environment the build used.
TEST_F(VerityImage, TheDbKeyIsNowhereButInItsOwnFile) {
  const fs::path key = workspace_->root() / "template/keys/db.key";
  std::string patterns;
  std::istringstream pem(read_text(key));
  for (std::string line; std::getline(pem, line);) {
    if (line.size() >= 40 && !line.starts_with("-----")) patterns += line + "\n";
  }
  ASSERT_FALSE(patterns.empty());
  const fs::path pattern_file = scratch() / "key-lines";
  std::ofstream(pattern_file) << patterns;
  std::vector<std::string> searched = {(workspace_->root() / "work").string(), (workspace_->root() / "runs").string(),
                                       (workspace_->root() / "tmp").string()};
  const std::string env = logged_build_env_key(build_.output());
  ASSERT_FALSE(env.empty()) << "the build names no build environment: " << build_.tail();
  searched.push_back((tests::live::persistent_cache_dir() / "oic-cache/buildenv" / env).string());
  std::vector<std::string> argv = {"grep", "-r", "-l", "-a", "-F", "-f", pattern_file.string()};
  argv.insert(argv.end(), searched.begin(), searched.end());
  const RunResult found = run_tool(argv, scratch());
  // Files of the saved tree only its owners may read (shadow, say) cannot
  // be searched by this user; nothing else may keep grep from answering.
  EXPECT_TRUE(found.out.empty()) << "lines of the DB key are in:\n" << found.out;
  std::istringstream errors(found.err);
  for (std::string line; std::getline(errors, line);) {
    EXPECT_NE(line.find("Permission denied"), std::string::npos) << line;
  }
  EXPECT_TRUE(found.exit_code == 1 || (found.exit_code == 2 && !found.err.empty())) << found.exit_code;
}

// A Debian 12 GRUB image with a dm-verity root, signed for Secure Boot
// (templates/debian12-verity.yml booted by GRUB instead of systemd-boot and
// a UKI, the package set the other Debian 12 image tests share, with the
// snakeoil keys): shim as BOOTX64.EFI, the signed GRUB with its menu and the
// root hash inside as grubx64.efi, the kernel on the ESP. It boots to login
// under Secure Boot enforcing with its root verified; a copy with one byte
// of the kernel changed is refused by GRUB (shim's verification).
class GrubSecureBootImage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pre_ = check_preconditions();
    if (pre_.skip.empty() && pre_.missing.empty()) pre_.missing = missing_secure_boot_tools();
    if (!pre_.met()) return;
    workspace_ = std::make_unique<ImageWorkspace>("oic-grub-sb");
    const fs::path tpl =
        write_signed_template(workspace_->root() / "template", "debian12-verity.yml", "debian12-grub-signed.yml");
    std::string text = read_text(tpl);
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"provider: systemd-boot\n", "provider: grub\n"},
                                   {"uki: true\n", "uki: false\n"}}) {
      const std::size_t at = text.find(from);
      if (at == std::string::npos) throw std::runtime_error("debian12-verity.yml has no '" + from + "'");
      text.replace(at, from.size(), to);
    }
    std::ofstream(tpl, std::ios::trunc) << text;
    build_ = workspace_->build(tpl);
    std::cout << "[ image    ] build of the signed GRUB image with a dm-verity root: " << build_.seconds << " s\n";
  }
  static void TearDownTestSuite() { workspace_.reset(); }

  void SetUp() override {
    if (!pre_.skip.empty()) GTEST_SKIP() << pre_.skip;
    ASSERT_TRUE(pre_.missing.empty()) << pre_.missing;
    ASSERT_EQ(build_.result.exit_code, 0) << build_.tail();
  }

  static ImageOutputs outputs() { return {workspace_->output_dir(kProvider, "Verity_Raw"), "oic-verity-1.0.0"}; }
  static fs::path scratch() { return workspace_->root() / "scratch"; }
  static std::uint64_t esp_offset() { return read_partition_table(outputs().raw(), scratch())[0].offset; }

  static inline Preconditions pre_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
  static inline TimedRun build_;
};

std::string tail_of(const std::string& text) { return text.substr(text.size() > 5000 ? text.size() - 5000 : 0); }

// The ESP holds the chain and nothing unsigned that GRUB reads: shim, GRUB
// (with SBAT and its menu inside, the root hash on its kernel line), the
// kernel and initrd; every EFI binary (MZ) passes sbverify with the DB
// certificate; shim trusts no CA of its own.
TEST_F(GrubSecureBootImage, TheEspHoldsShimTheSignedGrubAndTheKernel) {
  const FatReader esp(outputs().raw(), esp_offset(), scratch() / "esp");
  const std::vector<std::string> tree = esp.list_tree();
  for (const char* path : {"/EFI/BOOT/BOOTX64.EFI", "/EFI/BOOT/grubx64.efi"}) {
    EXPECT_THAT(tree, ::testing::Contains(path));
  }
  std::string kernel;
  for (const std::string& path : tree) {
    if (path.starts_with("/EFI/debian/vmlinuz-")) kernel = path;
    EXPECT_FALSE(lower(path).ends_with("grub.cfg")) << path << ": no menu outside the signed GRUB";
  }
  ASSERT_FALSE(kernel.empty()) << "no kernel in /EFI/debian";
  const std::string grub = esp.read_file("/EFI/BOOT/grubx64.efi").value_or("");
  EXPECT_THAT(grub, HasSubstr("\ngrub,5,")) << "its .sbat";
  const std::string root_hash = logged_root_hash(build_.output());
  ASSERT_EQ(root_hash.size(), 64u) << "the build logged no root hash: " << build_.tail();
  EXPECT_THAT(grub, HasSubstr("linux " + kernel + " root=/dev/mapper/root ro roothash=" + root_hash + " "))
      << "the menu in its memdisk";
  EXPECT_THAT(grub, Not(HasSubstr("placeholder")));
  for (const std::string& path : {std::string("/EFI/BOOT/BOOTX64.EFI"), std::string("/EFI/BOOT/grubx64.efi"), kernel}) {
    const fs::path file = scratch() / "signed.efi";
    std::ofstream(file, std::ios::binary) << esp.read_file(path).value_or("");
    const RunResult check = run_tool({"sbverify", "--cert", kSnakeoilCert, file.string()}, scratch());
    EXPECT_EQ(check.exit_code, 0) << path << " is not signed by the DB key: " << check.out << check.err;
  }
  EXPECT_TRUE(fs::is_regular_file(outputs().dir / "DB.cer"));
}

TEST_F(GrubSecureBootImage, BootsToLoginUnderSecureBoot) {
  const std::string console = secure_boot_until(*workspace_, outputs().raw(), "signed GRUB image", shows_any_of({"login:"}), 300);
  EXPECT_THAT(console, HasSubstr("login:")) << tail_of(console);
  EXPECT_THAT(console, HasSubstr("Secure boot enabled"));
  EXPECT_THAT(console, Not(HasSubstr("bad shim signature")));
  expect_verified_root(console);
}

TEST_F(GrubSecureBootImage, GrubRefusesTheKernelWithAChangedByte) {
  const fs::path copy = workspace_->root() / "changed-kernel.raw";
  ASSERT_EQ(run_tool({"cp", "--sparse=always", outputs().raw().string(), copy.string()}, scratch()).exit_code, 0);
  const std::string drive = copy.string() + "@@" + std::to_string(esp_offset());
  std::string kernel;
  for (const std::string& path : FatReader(outputs().raw(), esp_offset(), scratch() / "esp").list_tree()) {
    if (path.starts_with("/EFI/debian/vmlinuz-")) kernel = path;
  }
  ASSERT_FALSE(kernel.empty()) << "no kernel in /EFI/debian";
  const fs::path file = scratch() / "vmlinuz";
  fs::remove(file);
  ASSERT_EQ(run_tool({"mcopy", "-n", "-i", drive, "::" + kernel, file.string()}, scratch()).exit_code, 0);
  {
    std::fstream bytes(file, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(fs::file_size(file) / 2);
    bytes.seekg(at);
    const char byte = static_cast<char>(bytes.peek() ^ 0x01);
    bytes.seekp(at);
    bytes.put(byte);
  }
  ASSERT_EQ(run_tool({"mcopy", "-o", "-i", drive, file.string(), "::" + kernel}, scratch()).exit_code, 0);
  const std::string console =
      secure_boot_until(*workspace_, copy, "GRUB image with a changed byte of its kernel",
                        shows_any_of({"bad shim signature", "login:"}), 120);
  EXPECT_THAT(console, HasSubstr("error: bad shim signature.")) << tail_of(console);
  EXPECT_THAT(console, Not(HasSubstr("Linux version")));
  EXPECT_THAT(console, Not(HasSubstr("login:")));
  fs::remove(copy);
}

}  // namespace
}  // namespace tests::image
