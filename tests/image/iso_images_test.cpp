// ISO and initrd images built from this machine's Debian mirror and booted
// under QEMU: the debian12 initrd (the live environment) with -kernel and
// -initrd; the ISO, signed for Secure Boot with Debian's OVMF test key,
// under OVMF (with Secure Boot enforcing too: a changed kernel byte is
// refused) and under SeaBIOS; and an unattended install from that ISO onto a
// blank disk, which then boots alone and holds exactly the packages of the
// ISO's lockfile.
#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "tests/image/disk_inspect.hpp"
#include "tests/image/image_workspace.hpp"
#include "tests/image/secure_boot_fixture.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kBootTimeoutSeconds = 600;
constexpr int kInstallTimeoutSeconds = 1500;
constexpr const char* kRootAmd64Type = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
constexpr const char* kEspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

std::string listing(const fs::path& dir) {
  if (!fs::exists(dir)) return "  (" + dir.string() + " does not exist)\n";
  std::string out;
  for (const auto& entry : fs::directory_iterator(dir)) out += "  " + entry.path().filename().string() + "\n";
  return out;
}

// Path (without a leading "/" or "./") -> entry of every member of a
// compressed cpio archive, and the text of the members named in `wanted`.
struct CpioListing {
  std::vector<std::string> order;
  std::map<std::string, std::pair<unsigned, unsigned>> owners;  // uid, gid
  std::map<std::string, std::string> symlinks;
  std::map<std::string, std::string> texts;
};

std::string member_name(const char* path) {
  std::string name = path;
  while (name.starts_with("./") || name.starts_with("/")) name.erase(0, name.starts_with("./") ? 2 : 1);
  return name;
}

CpioListing read_cpio(const fs::path& file, const std::set<std::string>& wanted) {
  CpioListing out;
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_cpio(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw std::runtime_error(file.string() + ": " + archive_error_string(a.get()));
  }
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a.get(), &entry) == ARCHIVE_OK) {
    const std::string name = member_name(archive_entry_pathname(entry));
    out.order.push_back(name);
    out.owners[name] = {static_cast<unsigned>(archive_entry_uid(entry)), static_cast<unsigned>(archive_entry_gid(entry))};
    if (const char* target = archive_entry_symlink(entry)) out.symlinks[name] = target;
    if (wanted.contains(name)) {
      std::string text(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
      archive_read_data(a.get(), text.data(), text.size());
      out.texts[name] = text;
    }
  }
  return out;
}

// "Package" -> "Version" of every package dpkg's status marks installed.
std::map<std::string, std::string> installed_packages(const std::string& status) {
  std::map<std::string, std::string> out;
  std::istringstream in(status + "\n\n");
  std::string line, package, version, state;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (!package.empty() && state == "install ok installed") out[package] = version;
      package.clear(), version.clear(), state.clear();
    } else if (line.starts_with("Package: ")) {
      package = line.substr(9);
    } else if (line.starts_with("Version: ")) {
      version = line.substr(9);
    } else if (line.starts_with("Status: ")) {
      state = line.substr(8);
    }
  }
  return out;
}

std::map<std::string, std::string> locked_packages(const fs::path& lockfile) {
  std::map<std::string, std::string> out;
  const json lock = json::parse(read_text(lockfile));  // kept alive: the loop walks into it
  for (const json& p : lock["packages"]) out[p["name"]] = p["version"];
  return out;
}

class IsoImages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pre_ = check_preconditions();
    if (!pre_.met()) return;
    workspace_ = std::make_unique<ImageWorkspace>("oic-iso");
    initrd_build_ = std::make_unique<TimedRun>(
        workspace_->build(source_dir() / "image-templates/debian12-x86_64-minimal-initrd.yml"));
    std::cout << "[ image    ] build of the debian12 initrd: " << initrd_build_->seconds << " s\n";
    // Signed with Debian's OVMF test key: the medium's boot chain (shim,
    // GRUB, the live kernel) and the target disk's ESP.
    secure_boot_missing_ = missing_secure_boot_tools();
    const fs::path tpl = write_signed_template(workspace_->root() / "template", "debian12-iso-unattended.yml",
                                               "debian12-iso-signed.yml");
    iso_build_ = std::make_unique<TimedRun>(workspace_->build(tpl));
    std::cout << "[ image    ] build of the signed debian12 ISO: " << iso_build_->seconds << " s\n";
  }
  static void TearDownTestSuite() {
    initrd_build_.reset();
    iso_build_.reset();
    workspace_.reset();
  }

  void SetUp() override {
    if (!pre_.skip.empty()) GTEST_SKIP() << pre_.skip;
    ASSERT_TRUE(pre_.missing.empty()) << pre_.missing;
  }

  static ImageOutputs initrd() {
    return {workspace_->output_dir("debian-debian12-x86_64", "Default_Initrd"), "debian12-x86_64-minimal-initrd-1.0.0"};
  }
  static ImageOutputs iso() { return {workspace_->output_dir("debian-debian12-x86_64", "Unattended_ISO"), "oic-iso-1.0.0"}; }

  static fs::path kernel_beside(const ImageOutputs& outputs) {
    for (const auto& entry : fs::directory_iterator(outputs.dir)) {
      if (entry.path().filename().string().starts_with("vmlinuz-")) return entry.path();
    }
    return {};
  }
  static fs::path scratch(const std::string& name) {
    const fs::path dir = workspace_->root() / "scratch" / name;
    fs::create_directories(dir);
    return dir;
  }

  static inline Preconditions pre_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
  static inline std::unique_ptr<TimedRun> initrd_build_;
  static inline std::unique_ptr<TimedRun> iso_build_;
  static inline std::string secure_boot_missing_;
};

// The initrd is a sorted newc cpio owned by root with /init, root's login
// shell is the template's startupScript, and the kernel sits beside it.
TEST_F(IsoImages, InitrdHoldsTheTreeWithTheStartupScriptAsRootsShell) {
  ASSERT_EQ(initrd_build_->result.exit_code, 0) << initrd_build_->tail();
  ASSERT_TRUE(fs::is_regular_file(initrd().file("img"))) << listing(initrd().dir);
  ASSERT_FALSE(kernel_beside(initrd()).empty()) << listing(initrd().dir);
  EXPECT_TRUE(fs::is_regular_file(initrd().lock())) << listing(initrd().dir);
  EXPECT_TRUE(fs::is_regular_file(initrd().sbom())) << listing(initrd().dir);
  const CpioListing cpio = read_cpio(initrd().file("img"), {"etc/passwd"});
  EXPECT_TRUE(std::is_sorted(cpio.order.begin(), cpio.order.end()));
  EXPECT_EQ(cpio.symlinks.count("init"), 1u);
  EXPECT_TRUE(cpio.owners.count("root/attendedinstaller")) << "the startup script is not in the tree";
  EXPECT_EQ(cpio.owners.at("etc/shadow").first, 0u);
  ASSERT_TRUE(cpio.texts.count("etc/passwd"));
  EXPECT_NE(cpio.texts.at("etc/passwd").find("root:x:0:0:root:/root:/root/attendedinstaller\n"), std::string::npos)
      << cpio.texts.at("etc/passwd");
  EXPECT_EQ(cpio.owners.count("usr/bin/live-installer"), 0u) << "only the ISO's live environment carries the installer";
}

TEST_F(IsoImages, InitrdBootsWithKernelAndInitrdToARootLogin) {
  ASSERT_EQ(initrd_build_->result.exit_code, 0) << initrd_build_->tail();
  const TimedRun boot = workspace_->cli({"boot", initrd().file("img").string(), "--kernel",
                                         kernel_beside(initrd()).string(), "--check", "--timeout",
                                         std::to_string(kBootTimeoutSeconds)});
  std::cout << "[ image    ] boot of the initrd to login: " << boot.seconds << " s\n";
  EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
  // That root's login shell there is the startup script is read from the
  // cpio above; UnattendedInstall... shows the script running (it starts
  // the installer). The boot command stops at the prompt, so the rest of
  // agetty's line may not have arrived: only the prompt is checked.
  EXPECT_NE(boot.output().find("default-initrd login:"), std::string::npos) << boot.tail(20);
}

TEST_F(IsoImages, IsoCarriesTheLiveEnvironmentTheTargetAndItsPackages) {
  ASSERT_EQ(iso_build_->result.exit_code, 0) << iso_build_->tail();
  ASSERT_TRUE(fs::is_regular_file(iso().file("iso"))) << listing(iso().dir);
  const fs::path out = scratch("iso-extract");
  const RunResult extract = run_tool({"xorriso", "-osirrox", "on", "-indev", iso().file("iso").string(), "-extract",
                                      "/install/manifest.json", (out / "manifest.json").string(), "-extract",
                                      "/cache-repo/Packages", (out / "Packages").string(), "-extract",
                                      "/config/template-dump.yaml", (out / "template-dump.yaml").string()},
                                     out);
  ASSERT_EQ(extract.exit_code, 0) << extract.err;
  const json manifest = json::parse(read_text(out / "manifest.json"));
  EXPECT_EQ(manifest["diskPath"], "/dev/vda");
  EXPECT_EQ(manifest["rootPartition"], 2);
  EXPECT_EQ(manifest["image"]["rawSize"], 2ull << 30);
  // Every locked package is in the ISO's repository at its locked version,
  // named by its place on the medium (a flat repository: ./NAME).
  std::map<std::string, std::string> in_repo;
  std::istringstream packages(read_text(out / "Packages"));
  std::string line, name;
  std::size_t filenames = 0;
  while (std::getline(packages, line)) {
    if (line.starts_with("Package: ")) name = line.substr(9);
    if (line.starts_with("Version: ")) in_repo[name] = line.substr(9);
    if (line.starts_with("Filename: ")) {
      ++filenames;
      EXPECT_TRUE(line.starts_with("Filename: ./" + name + "_") && line.find('/', 12) == std::string::npos) << line;
    }
  }
  EXPECT_EQ(in_repo, locked_packages(iso().lock()));
  EXPECT_EQ(filenames, in_repo.size());
  EXPECT_NE(read_text(out / "template-dump.yaml").find("Unattended_ISO"), std::string::npos);
}

// `inspect` reads the medium itself: its volume, its GRUB configuration and
// the packages of the lockfile its manifest names, which are the lock's.
TEST_F(IsoImages, InspectShowsTheMediumsVolumeKernelAndLockedPackages) {
  ASSERT_EQ(iso_build_->result.exit_code, 0) << iso_build_->tail();
  const TimedRun inspect = workspace_->cli({"inspect", iso().file("iso").string(), "--format", "json"});
  ASSERT_EQ(inspect.result.exit_code, 0) << inspect.tail();
  const json report = json::parse(inspect.result.out);
  EXPECT_EQ(report["partitionTable"]["type"], "iso9660");
  EXPECT_EQ(report["partitionTable"]["id"], "ICT_CDROM");
  std::map<std::string, std::string> listed;
  for (const json& p : report["root"]["packages"]) listed[p["name"]] = p["version"];
  EXPECT_EQ(listed, locked_packages(iso().lock()));
  ASSERT_FALSE(report["boot"]["kernels"].empty()) << inspect.result.out;
  EXPECT_EQ(report["boot"]["kernels"][0]["config"], "/boot/grub/grub.cfg");
}

TEST_F(IsoImages, IsoBootsToTheLiveEnvironmentUnderOvmf) {
  ASSERT_EQ(iso_build_->result.exit_code, 0) << iso_build_->tail();
  const TimedRun boot = workspace_->boot_check(iso().file("iso"), kBootTimeoutSeconds);
  std::cout << "[ image    ] boot of the ISO under OVMF to login: " << boot.seconds << " s\n";
  EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
}

// The medium's EFI image holds shim (its own CA dropped) as BOOTX64.EFI and
// GRUB beside it; shim, GRUB and the live kernel pass sbverify with the DB
// certificate; DB.cer is published.
TEST_F(IsoImages, IsosBootChainIsSignedWithTheDbKey) {
  ASSERT_TRUE(secure_boot_missing_.empty()) << secure_boot_missing_;
  ASSERT_EQ(iso_build_->result.exit_code, 0) << iso_build_->tail();
  const fs::path dir = scratch("signed");
  for (const char* path : {"/boot/grub/efi.img", "/images/vmlinuz"}) {
    const RunResult r = run_tool({"xorriso", "-osirrox", "on", "-indev", iso().file("iso").string(), "-extract", path,
                                  (dir / fs::path(path).filename()).string()},
                                 dir);
    ASSERT_EQ(r.exit_code, 0) << path << ": " << r.err;
  }
  const std::string drive = (dir / "efi.img").string();
  for (const char* name : {"BOOTX64.EFI", "grubx64.efi"}) {
    const RunResult r = run_tool({"mcopy", "-n", "-i", drive, std::string("::/EFI/BOOT/") + name,
                                  (dir / name).string()}, dir);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
  }
  for (const char* name : {"BOOTX64.EFI", "grubx64.efi", "vmlinuz"}) {
    const RunResult check = run_tool({"sbverify", "--cert", kSnakeoilCert, (dir / name).string()}, dir);
    EXPECT_EQ(check.exit_code, 0) << name << " is not signed by the DB key: " << check.out << check.err;
  }
  EXPECT_NE(read_text(dir / "grubx64.efi").find("menuentry"), std::string::npos) << "the menu inside GRUB";
  EXPECT_TRUE(fs::is_regular_file(iso().dir / "DB.cer"));
  EXPECT_NE(iso_build_->output().find("EFI binaries of the ISO for Secure Boot"), std::string::npos)
      << iso_build_->tail();
}

TEST_F(IsoImages, IsoBootsToTheLiveEnvironmentUnderSecureBoot) {
  ASSERT_TRUE(secure_boot_missing_.empty()) << secure_boot_missing_;
  ASSERT_EQ(iso_build_->result.exit_code, 0) << iso_build_->tail();
  const std::string console = secure_boot_until(*workspace_, iso().file("iso"), "signed ISO",
                                                shows_any_of({"login:", "bad shim signature"}), kBootTimeoutSeconds);
  EXPECT_NE(console.find("login:"), std::string::npos) << console.substr(console.size() > 5000 ? console.size() - 5000 : 0);
  EXPECT_NE(console.find("Secure boot enabled"), std::string::npos);
}

// One byte of the medium's kernel changed in place (its extent found with
// xorriso): GRUB asks shim to check it and refuses it.
TEST_F(IsoImages, GrubRefusesTheIsosKernelWithAChangedByte) {
  ASSERT_TRUE(secure_boot_missing_.empty()) << secure_boot_missing_;
  ASSERT_EQ(iso_build_->result.exit_code, 0) << iso_build_->tail();
  const fs::path dir = scratch("changed");
  const fs::path copy = dir / "changed.iso";
  fs::copy_file(iso().file("iso"), copy, fs::copy_options::overwrite_existing);
  const RunResult lba = run_tool({"xorriso", "-indev", copy.string(), "-find", "/images/vmlinuz", "-exec",
                                  "report_lba"}, dir);
  ASSERT_EQ(lba.exit_code, 0) << lba.err;
  std::smatch m;
  const std::string report = lba.out + lba.err;
  ASSERT_TRUE(std::regex_search(report, m, std::regex(R"(File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*\d+\s*,\s*(\d+))")))
      << report;
  const std::uint64_t at = std::stoull(m[1].str()) * 2048 + std::stoull(m[2].str()) / 2;
  {
    std::fstream bytes(copy, std::ios::in | std::ios::out | std::ios::binary);
    bytes.seekg(static_cast<std::streamoff>(at));
    const char byte = static_cast<char>(bytes.peek() ^ 0x01);
    bytes.seekp(static_cast<std::streamoff>(at));
    bytes.put(byte);
  }
  const std::string console = secure_boot_until(*workspace_, copy, "ISO with a changed byte of its kernel",
                                                shows_any_of({"bad shim signature", "login:"}), 300);
  EXPECT_NE(console.find("bad shim signature"), std::string::npos)
      << console.substr(console.size() > 5000 ? console.size() - 5000 : 0);
  EXPECT_EQ(console.find("login:"), std::string::npos);
  fs::remove(copy);
}

TEST_F(IsoImages, IsoBootsToTheLiveEnvironmentUnderSeabios) {
  ASSERT_EQ(iso_build_->result.exit_code, 0) << iso_build_->tail();
  const TimedRun boot = workspace_->cli(
      {"boot", iso().file("iso").string(), "--bios", "--check", "--timeout", std::to_string(kBootTimeoutSeconds)});
  std::cout << "[ image    ] boot of the ISO under SeaBIOS to login: " << boot.seconds << " s\n";
  EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
}

// The installer writes the target onto /dev/vda; the disk then boots alone,
// its boot file is signed by the DB key, and its dpkg status lists exactly
// the lockfile's packages and versions.
TEST_F(IsoImages, UnattendedInstallBootsFromTheDiskWithTheLockedPackages) {
  ASSERT_EQ(iso_build_->result.exit_code, 0) << iso_build_->tail();
  const fs::path disk = scratch("install") / "disk.qcow2";
  const TimedRun install = workspace_->cli({"boot", iso().file("iso").string(), "--install", "--disk", "3",
                                            "--keep-disk", disk.string(), "--timeout",
                                            std::to_string(kBootTimeoutSeconds),
                                            "--install-timeout", std::to_string(kInstallTimeoutSeconds)});
  std::cout << "[ image    ] install from the ISO and boot from the disk: " << install.seconds << " s\n";
  ASSERT_EQ(install.result.exit_code, 0) << install.tail(80);
  const fs::path raw = scratch("install") / "disk.raw";
  const RunResult convert = run_tool({"qemu-img", "convert", "-O", "raw", disk.string(), raw.string()}, scratch("install"));
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  std::optional<Ext4Reader> root;
  std::uint64_t root_end = 0;
  std::optional<FatReader> esp;
  for (const Partition& p : read_partition_table(raw, scratch("sfdisk"))) {
    if (p.type == kRootAmd64Type) root.emplace(raw, p.offset, scratch("debugfs")), root_end = p.offset + p.size;
    if (p.type == kEspType) esp.emplace(raw, p.offset, scratch("esp"));
  }
  ASSERT_TRUE(root.has_value()) << "no root partition on the installed disk";
  // The ISO was built with the DB keys: the disk it installs is signed too.
  ASSERT_TRUE(esp.has_value()) << "no ESP on the installed disk";
  const auto boot_file = esp->read_file("/EFI/BOOT/BOOTX64.EFI");
  ASSERT_TRUE(boot_file.has_value()) << "no EFI/BOOT/BOOTX64.EFI on the installed disk's ESP";
  const fs::path signed_copy = scratch("install") / "BOOTX64.EFI";
  std::ofstream(signed_copy, std::ios::binary) << *boot_file;
  const RunResult verified = run_tool({"sbverify", "--cert", kSnakeoilCert, signed_copy.string()}, scratch("install"));
  EXPECT_EQ(verified.exit_code, 0) << "the installed disk's boot file is not signed by the DB key: " << verified.err;
  EXPECT_GT(root_end, 2ull << 30) << "the root partition was not grown past the image's 2 GiB";
  const auto status = root->read_file("/var/lib/dpkg/status");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(installed_packages(*status), locked_packages(iso().lock()));
}

// Bad input stops an ISO build with a message naming what, and no ISO is
// left in the output directory.
TEST_F(IsoImages, LiveEnvironmentWithAMissingPackageStopsTheBuildNamingIt) {
  const TimedRun build = workspace_->build(source_dir() / "tests/image/templates/iso-live-missing-package.yml");
  EXPECT_NE(build.result.exit_code, 0);
  EXPECT_NE(build.output().find("oic-no-such-package"), std::string::npos) << build.tail();
  const ImageOutputs outputs{workspace_->output_dir("debian-debian12-x86_64", "Live_Missing_ISO"),
                             "oic-iso-live-missing-1.0.0"};
  EXPECT_FALSE(fs::exists(outputs.file("iso"))) << listing(outputs.dir);
}

TEST_F(IsoImages, IsoWhoseLiveTemplateDoesNotExistIsRefusedBeforeAnyDownload) {
  const TimedRun build = workspace_->build(source_dir() / "tests/image/templates/iso-live-template-missing.yml");
  EXPECT_NE(build.result.exit_code, 0);
  EXPECT_NE(build.output().find("no-such-live-environment.yml"), std::string::npos) << build.tail();
  EXPECT_EQ(build.output().find("Package indexes:"), std::string::npos) << "resolved before refusing: " << build.tail();
}

}  // namespace
}  // namespace tests::image
