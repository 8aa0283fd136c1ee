#include "stages/installer/bootloader.hpp"

#include <capnp/message.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "base/pe_image.hpp"
#include "ipc/shared.capnp.h"
#include "stages/installer/test_files.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
using stage::installer::testing::slurp;
using stage::installer::testing::spit;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

void put_le(std::string& image, std::size_t offset, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) image[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// A PE32+ header with two sections, the last one ending at 0x4100.
std::string fake_pe(std::uint64_t image_base) {
  std::string image(0x400, '\0');
  image[0] = 'M';
  image[1] = 'Z';
  put_le(image, 0x3c, 0x80, 4);
  put_le(image, 0x80, 0x00004550, 4);  // "PE\0\0"
  put_le(image, 0x84 + 2, 2, 2);       // NumberOfSections
  put_le(image, 0x84 + 16, 240, 2);    // SizeOfOptionalHeader
  const std::size_t optional = 0x84 + 20;
  put_le(image, optional, 0x20b, 2);
  put_le(image, optional + 24, image_base, 8);
  const std::size_t sections = optional + 240;
  put_le(image, sections + 8, 0x100, 4);       // .data: VirtualSize
  put_le(image, sections + 12, 0x4000, 4);     //        VirtualAddress (listed first on purpose)
  put_le(image, sections + 40 + 8, 0x2345, 4); // .text
  put_le(image, sections + 40 + 12, 0x1000, 4);
  return image;
}

// The schema's defaults (installer.capnp Grub) and azl3's config.yml.
const GrubNames kDebianGrub{"grub-mkstandalone", "/usr/lib/grub/x86_64-efi", "/boot/grub", "grub-common",
                            "grub-efi-amd64-bin"};
const GrubNames kAzl3Grub{"grub2-mkstandalone", "/usr/lib/grub/x86_64-efi", "/boot/grub2", "grub2", "grub2-efi"};

const BootSettings kEfi{.type = "efi", .provider = "grub", .esp = "/boot/efi", .root_uuid = "r00t",
                        .cmdline = "console=ttyS0,115200", .grub = kDebianGrub};

BootSettings with_grub(BootSettings settings, const GrubNames& grub) {
  settings.grub = grub;
  return settings;
}

TEST(BootConfig, PassesRootByUuidReadOnlyBeforeTheTemplateArguments) {
  EXPECT_EQ(kernel_arguments(kEfi), "root=UUID=r00t ro console=ttyS0,115200");
  EXPECT_EQ(kernel_arguments({.root_uuid = "r00t"}), "root=UUID=r00t ro");
}

const std::string kPlaceholder = ipc::proto::ROOT_HASH_PLACEHOLDER.get().cStr();
constexpr const char* kDataUuid = "0fc63daf-8483-4772-8e79-3d69d8477de4";
constexpr const char* kHashUuid = "77ff5f63-e7b6-4633-acf4-1565b864c0e6";

// systemd-boot with a UKI and a dm-verity root: what immutability.enabled asks for.
BootSettings verity_uki(BootSettings settings = kEfi) {
  settings.provider = "systemd-boot";
  settings.uki = true;
  settings.verity_data_uuid = kDataUuid;
  settings.verity_hash_uuid = kHashUuid;
  return settings;
}

TEST(BootConfig, AVerityRootIsDevMapperRootWithTheHashPlaceholderAndItsPartitions) {
  EXPECT_EQ(kPlaceholder.size(), 64u) << "as long as a SHA-256 root hash in hex";
  EXPECT_EQ(kernel_arguments(verity_uki()),
            "root=/dev/mapper/root ro roothash=" + kPlaceholder +
                " systemd.verity_root_data=PARTUUID=0fc63daf-8483-4772-8e79-3d69d8477de4"
                " systemd.verity_root_hash=PARTUUID=77ff5f63-e7b6-4633-acf4-1565b864c0e6 console=ttyS0,115200");
  BootSettings plain = verity_uki();
  plain.cmdline.clear();
  EXPECT_THAT(kernel_arguments(plain), ::testing::EndsWith("PARTUUID=77ff5f63-e7b6-4633-acf4-1565b864c0e6"));
  EXPECT_THAT(kernel_arguments(kEfi), Not(HasSubstr("roothash")));
}

TEST(BootConfig, DecodesTheRequestsVerityPartitions) {
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::InstallerRequest>();
  EXPECT_EQ(decode_boot_settings(request.asReader()).verity_data_uuid, "");
  auto verity = request.initVerity();
  verity.setDataPartUuid(kDataUuid);
  verity.setHashPartUuid(kHashUuid);
  const BootSettings settings = decode_boot_settings(request.asReader());
  EXPECT_EQ(settings.verity_data_uuid, kDataUuid);
  EXPECT_EQ(settings.verity_hash_uuid, kHashUuid);
}

TEST(BootConfig, EmbeddedGrubConfigFindsBootByUuid) {
  EXPECT_EQ(grub_embedded_config(kEfi),
            "search --no-floppy --fs-uuid --set=root r00t\nconfigfile ($root)/boot/grub/grub.cfg\n");
  BootSettings separate = kEfi;
  separate.boot_uuid = "b007";  // /boot is its own file system: its files are at its top
  EXPECT_EQ(grub_embedded_config(separate),
            "search --no-floppy --fs-uuid --set=root b007\nconfigfile ($root)/grub/grub.cfg\n");
}

TEST(BootConfig, EmbeddedGrubConfigLoadsTheDistributionsConfigDirectory) {
  const BootSettings azl3 = with_grub(kEfi, kAzl3Grub);
  EXPECT_EQ(grub_embedded_config(azl3),
            "search --no-floppy --fs-uuid --set=root r00t\nconfigfile ($root)/boot/grub2/grub.cfg\n");
  BootSettings separate = azl3;
  separate.boot_uuid = "b007";
  EXPECT_THAT(grub_embedded_config(separate), HasSubstr("configfile ($root)/grub2/grub.cfg\n"));
  EXPECT_THAT(grub_config(azl3, {"6.6", "boot/vmlinuz-6.6", ""}, "x"), HasSubstr("# /boot/grub2/grub.cfg,"));
}

TEST(BootConfig, GrubMenuBootsTheKernelWithItsInitrdOnTheSerialConsole) {
  const KernelInfo kernel{"6.1.0-28-amd64", "boot/vmlinuz-6.1.0-28-amd64", "boot/initrd.img-6.1.0-28-amd64"};
  const std::string cfg = grub_config(kEfi, kernel, "Debian's 12");
  EXPECT_THAT(cfg, HasSubstr("terminal_output serial console\n"));
  EXPECT_THAT(cfg, HasSubstr("set timeout=1\n"));
  EXPECT_THAT(cfg, HasSubstr("menuentry 'Debian'\\''s 12' {\n"));
  EXPECT_THAT(cfg, HasSubstr("\tlinux /boot/vmlinuz-6.1.0-28-amd64 root=UUID=r00t ro console=ttyS0,115200\n"));
  EXPECT_THAT(cfg, HasSubstr("\tinitrd /boot/initrd.img-6.1.0-28-amd64\n"));
  EXPECT_THAT(grub_config(kEfi, {"6.1", "boot/vmlinuz-6.1", ""}, "x"), Not(HasSubstr("initrd")));
}

TEST(BootConfig, DecodesTheRequestsGrubNamesAndDebiansWhenUnset) {
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::InstallerRequest>();
  EXPECT_EQ(decode_boot_settings(request.asReader()).grub, kDebianGrub);
  auto grub = request.initGrub();
  grub.setMkstandalone(kAzl3Grub.mkstandalone);
  grub.setModulesDir(kAzl3Grub.modules_dir);
  grub.setConfigDir(kAzl3Grub.config_dir);
  grub.setToolsPackage(kAzl3Grub.tools_package);
  grub.setModulesPackage(kAzl3Grub.modules_package);
  EXPECT_EQ(decode_boot_settings(request.asReader()).grub, kAzl3Grub);
}

TEST(PeLayout, FindsImageBaseAndTheEndOfTheLastSection) {
  const PeLayout layout = read_pe_layout(fake_pe(0x10000000));
  EXPECT_EQ(layout.image_base, 0x10000000u);
  EXPECT_EQ(layout.end_rva, 0x4100u);
}

TEST(PeLayout, RejectsWhatIsNotAPeImage) {
  EXPECT_THROW(read_pe_layout("ELF......"), base::Error);
  EXPECT_THROW(read_pe_layout(fake_pe(0).substr(0, 0x90)), base::Error);  // truncated headers
  std::string no_signature = fake_pe(0);
  no_signature[0x80] = 'X';
  EXPECT_THROW(read_pe_layout(no_signature), base::Error);
}

TEST(UkiSections, FollowTheStubAtFourKibBoundaries) {
  // The numbers of systemd 252's stub: its last section ends at 0x19134.
  const auto argv = uki_objcopy_argv({0, 0x19134},
                                     {{".osrel", "o", 0x100}, {".cmdline", "c", 0x20},
                                      {".linux", "l", 0x7e0001}, {".initrd", "i", 10}},
                                     "stub", "out");
  EXPECT_THAT(argv, ElementsAre("/usr/bin/objcopy",
                                "--add-section", ".osrel=o", "--change-section-vma", ".osrel=0x1a000",
                                "--add-section", ".cmdline=c", "--change-section-vma", ".cmdline=0x1b000",
                                "--add-section", ".linux=l", "--change-section-vma", ".linux=0x1c000",
                                "--add-section", ".initrd=i", "--change-section-vma", ".initrd=0x7fd000",
                                "stub", "out"));
  // Addresses include the image base.
  EXPECT_THAT(uki_objcopy_argv({0x10000000, 0x4100}, {{".osrel", "o", 1}}, "s", "o"),
              Contains(".osrel=0x10005000"));
}

// fake_pe with its second section named .vendor_cert as objcopy names it in
// an image, "/4": offset 4 of the COFF string table (after a symbol table of
// one 18-byte symbol at 0x300). Its raw data (at 0x200) starts with shim's
// header {authorized_size 930, deauthorized_size 8664, authorized_offset
// 16, deauthorized_offset 946}.
std::string fake_shim() {
  std::string image = fake_pe(0);
  const std::size_t coff = 0x84;
  const std::size_t second = coff + 20 + 240 + 40;
  image.replace(second, 2, "/4");
  put_le(image, second + 16, 0x20, 4);   // SizeOfRawData
  put_le(image, second + 20, 0x200, 4);  // PointerToRawData
  put_le(image, 0x200, 930, 4);
  put_le(image, 0x204, 8664, 4);
  put_le(image, 0x208, 16, 4);
  put_le(image, 0x20c, 946, 4);
  put_le(image, coff + 8, 0x300, 4);  // PointerToSymbolTable
  put_le(image, coff + 12, 1, 4);     // NumberOfSymbols
  image.replace(0x300 + 18 + 4, 13, std::string(".vendor_cert\0", 13));
  return image;
}

TEST(ShimVendorCert, OnlyItsAuthorizedSizeIsZeroed) {
  const std::string shim = fake_shim();
  std::string patched = shim;
  base::disable_shim_vendor_cert(patched);
  ASSERT_EQ(patched.size(), shim.size());
  EXPECT_EQ(patched.substr(0x200, 4), std::string(4, '\0'));
  EXPECT_EQ(patched.substr(0, 0x200), shim.substr(0, 0x200));
  EXPECT_EQ(patched.substr(0x204), shim.substr(0x204)) << "the vendor dbx and the rest stay";
}

TEST(ShimVendorCert, RefusesWhatIsNoShim) {
  const auto message = [](std::string image) {
    try {
      base::disable_shim_vendor_cert(image);
    } catch (const base::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message("ELF"), HasSubstr("does not start with MZ"));
  EXPECT_THAT(message(fake_pe(0)), HasSubstr("no .vendor_cert section"));
  std::string past_end = fake_shim();
  put_le(past_end, 0x84 + 20 + 240 + 40 + 20, 0x3f0, 4);
  EXPECT_THAT(message(past_end), HasSubstr("section .vendor_cert lies past the end of the file"));
  std::string short_header = fake_shim();
  put_le(short_header, 0x84 + 20 + 240 + 40 + 16, 8, 4);
  EXPECT_THAT(message(short_header), HasSubstr("shorter than its header"));
  std::string bad_name = fake_shim();
  bad_name.replace(0x84 + 20 + 240 + 40, 2, "/x");
  EXPECT_THAT(message(bad_name), HasSubstr("section name '/x' is not /<offset>"));
  std::string far_name = fake_shim();
  far_name.replace(0x84 + 20 + 240 + 40, 4, "/999");
  EXPECT_THAT(message(far_name), HasSubstr("lies past the end of the file"));
}

class BootLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bootloader_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    spit(root_ / "etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n");
    spit(root_ / "boot/vmlinuz-6.1.0-28-amd64", "kernel");
    spit(root_ / "boot/initrd.img-6.1.0-28-amd64", "initrd");
    fs::create_directories(root_ / "tmp");
  }
  void TearDown() override { fs::remove_all(root_); }

  // Plays grub-mkstandalone: writes the -o file.
  CommandRunner chroot_recorder() {
    return [this](const ChrootCommand& command, const std::string&) {
      chroot_commands_.push_back(command.argv);
      const auto o = std::find(command.argv.begin(), command.argv.end(), "-o");
      if (o != command.argv.end()) spit(root_ / fs::path(*(o + 1)).relative_path(), "grub");
      // The memdisk's menu and the SBAT file, gone after the run.
      for (std::size_t i = 1; i < command.argv.size(); ++i) {
        const std::string& arg = command.argv[i];
        if (arg.starts_with("boot/grub/grub.cfg=")) memdisk_menu_ = slurp(root_ / arg.substr(20));
        if (command.argv[i - 1] == "--sbat") sbat_ = slurp(root_ / fs::path(arg).relative_path());
      }
      return std::string();
    };
  }
  // Plays objcopy: writes its last argument.
  // Keeps the .cmdline section's contents (its file is gone afterwards).
  HostRunner host_recorder() {
    return [this](const std::vector<std::string>& argv, const std::string&) {
      host_commands_.push_back(argv);
      for (std::size_t i = 1; i < argv.size(); ++i) {
        if (argv[i - 1] == "--add-section" && argv[i].starts_with(".cmdline=")) {
          uki_cmdline_ = slurp(argv[i].substr(std::string_view(".cmdline=").size()));
        }
      }
      spit(argv.back(), uki_bytes_);
      return std::string();
    };
  }
  std::vector<std::string> install(const BootSettings& settings) {
    return install_boot_loader(root_, settings, kernel_, chroot_recorder(), host_recorder());
  }

  fs::path root_;
  std::optional<KernelInfo> kernel_ =
      KernelInfo{"6.1.0-28-amd64", "boot/vmlinuz-6.1.0-28-amd64", "boot/initrd.img-6.1.0-28-amd64"};
  std::vector<std::vector<std::string>> chroot_commands_;
  std::vector<std::vector<std::string>> host_commands_;
  std::string uki_cmdline_;
  std::string uki_bytes_ = "uki";  // what the played objcopy writes
  std::string memdisk_menu_;
  std::string sbat_;
};

TEST_F(BootLoaderTest, RefusesWhatItCannotInstall) {
  struct Case {
    const char* why;
    BootSettings settings;
    const char* message;
  } cases[] = {
      {"BIOS boot is a later feature", {.type = "legacy", .root_uuid = "r"}, "legacy BIOS boot is not supported yet"},
      {"EFI needs an ESP", {.type = "efi", .provider = "grub", .root_uuid = "r"}, "no ESP"},
      {"an unknown loader", {.type = "efi", .provider = "lilo", .esp = "/boot/efi", .root_uuid = "r"}, "lilo"},
      {"an unknown type", {.type = "uboot", .esp = "/boot/efi", .root_uuid = "r"}, "uboot"},
      {"no loader and no UKI", {.type = "efi", .esp = "/boot/efi", .root_uuid = "r"}, "no provider and no UKI"},
      {"the GRUB binaries are missing", kEfi, "grub-efi-amd64-bin"},
      {"azl3's GRUB modules are missing", with_grub(kEfi, kAzl3Grub), "add the package 'grub2-efi'"},
      {"a tool name that is a path", with_grub(kEfi, {"../sbin/x", "/usr/lib/grub/x86_64-efi", "/boot/grub", "a", "b"}),
       "Invalid GRUB tool name '../sbin/x'"},
      {"a config directory outside /boot",
       with_grub(kEfi, {"grub2-mkstandalone", "/usr/lib/grub/x86_64-efi", "/etc/grub2", "a", "b"}),
       "Invalid GRUB configuration directory '/etc/grub2'"},
      {"modules with '..'", with_grub(kEfi, {"grub2-mkstandalone", "/usr/lib/../x86_64-efi", "/boot/grub2", "a", "b"}),
       "Invalid GRUB modules directory"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    try {
      install(c.settings);
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_THAT(std::string(e.what()), HasSubstr(c.message));
    }
  }
  kernel_.reset();
  EXPECT_THROW(install(kEfi), base::Error);
  EXPECT_TRUE(chroot_commands_.empty());
}

TEST_F(BootLoaderTest, InstallsNothingWithoutABootLoaderType) {
  EXPECT_TRUE(install({}).empty());
}

// An initrd image says "none": nothing is written or run, even with a kernel,
// and a UKI (which needs an EFI loader) is refused rather than dropped.
TEST_F(BootLoaderTest, TypeNoneInstallsNothingAndRefusesAUki) {
  EXPECT_TRUE(install({.type = "none", .provider = "grub"}).empty());
  EXPECT_TRUE(chroot_commands_.empty());
  EXPECT_TRUE(host_commands_.empty());
  EXPECT_THROW(install({.type = "none", .uki = true}), base::Error);
  try {
    install({.type = "nothing"});
    ADD_FAILURE() << "no error";
  } catch (const base::Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("Unknown boot loader type 'nothing': use efi (or none)"));
  }
}

TEST_F(BootLoaderTest, MakesAStandaloneGrubOnTheRemovablePath) {
  spit(root_ / "usr/lib/grub/x86_64-efi/linux.mod", "");
  spit(root_ / "usr/bin/grub-mkstandalone", "");
  EXPECT_THAT(install(kEfi), UnorderedElementsAre("boot/efi/EFI/BOOT/BOOTX64.EFI", "boot/efi/EFI/BOOT/grub.cfg",
                                                  "boot/grub/grub.cfg"));
  ASSERT_EQ(chroot_commands_.size(), 1u);
  const auto& argv = chroot_commands_[0];
  EXPECT_EQ(argv[0], "grub-mkstandalone");
  EXPECT_THAT(argv, Contains("--directory=/usr/lib/grub/x86_64-efi"));
  EXPECT_THAT(argv, Contains("/boot/efi/EFI/BOOT/BOOTX64.EFI"));
  EXPECT_THAT(argv, Contains(HasSubstr("--modules=part_gpt ")));
  EXPECT_EQ(argv.back(), "boot/grub/grub.cfg=/tmp/os-image-composer-grub-embedded.cfg");
  EXPECT_FALSE(fs::exists(root_ / "tmp/os-image-composer-grub-embedded.cfg"));
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/BOOT/grub.cfg"), grub_embedded_config(kEfi));
  EXPECT_THAT(slurp(root_ / "boot/grub/grub.cfg"), HasSubstr("menuentry 'Debian GNU/Linux 12 (bookworm)'"));
}

// azl3 and emt3 ship grub2-mkstandalone (package grub2) and read /boot/grub2.
TEST_F(BootLoaderTest, MakesAStandaloneGrubWithTheDistributionsNames) {
  spit(root_ / "usr/lib/grub/x86_64-efi/linux.mod", "");
  spit(root_ / "usr/bin/grub2-mkstandalone", "");
  const BootSettings azl3 = with_grub(kEfi, kAzl3Grub);
  EXPECT_THAT(install(azl3), UnorderedElementsAre("boot/efi/EFI/BOOT/BOOTX64.EFI", "boot/efi/EFI/BOOT/grub.cfg",
                                                  "boot/grub2/grub.cfg"));
  ASSERT_EQ(chroot_commands_.size(), 1u);
  const auto& argv = chroot_commands_[0];
  EXPECT_EQ(argv[0], "grub2-mkstandalone");
  EXPECT_THAT(argv, Contains("--directory=/usr/lib/grub/x86_64-efi"));
  EXPECT_EQ(argv.back(), "boot/grub/grub.cfg=/tmp/os-image-composer-grub-embedded.cfg");  // the memdisk's name
  EXPECT_THAT(slurp(root_ / "boot/efi/EFI/BOOT/grub.cfg"), HasSubstr("configfile ($root)/boot/grub2/grub.cfg"));
  EXPECT_THAT(slurp(root_ / "boot/grub2/grub.cfg"), HasSubstr("menuentry 'Debian GNU/Linux 12 (bookworm)'"));
  EXPECT_FALSE(fs::exists(root_ / "boot/grub"));
}

TEST_F(BootLoaderTest, RefusesAGrubPlatformItCannotName) {
  spit(root_ / "usr/lib/grub/arm64-efi/linux.mod", "");
  spit(root_ / "usr/bin/grub2-mkstandalone", "");
  try {
    install(with_grub(kEfi, {"grub2-mkstandalone", "/usr/lib/grub/arm64-efi", "/boot/grub2", "grub2", "grub2-efi"}));
    ADD_FAILURE() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kUnimplemented);
    EXPECT_THAT(std::string(e.what()), HasSubstr("'arm64-efi'"));
  }
  EXPECT_TRUE(chroot_commands_.empty());
}

const GrubNames kDebianSecureBootGrub{"grub-mkstandalone", "/usr/lib/grub/x86_64-efi", "/boot/grub", "grub-common",
                                      "grub-efi-amd64-bin", "/usr/lib/shim/shimx64.efi", "shim-unsigned",
                                      "sbat,1,SBAT Version,sbat,1,x\ngrub,5,Free Software Foundation,grub,2.06,y\n"};

BootSettings secure_grub() {
  BootSettings settings = with_grub(kEfi, kDebianSecureBootGrub);
  settings.secure_boot = true;
  settings.esp_uuid = "ABCD-1234";
  return settings;
}

TEST(BootConfig, TheSignedGrubsMenuBootsTheKernelOnTheEspFoundByItsVolumeId) {
  EXPECT_EQ(grub_secure_boot_config(secure_grub(), "/EFI/debian/vmlinuz-6.1", "/EFI/debian/initrd.img-6.1",
                                    "Debian's 12"),
            "# The menu inside the signed GRUB (boot/grub/grub.cfg of its memdisk), written by os-image-composer.\n"
            "serial --unit=0 --speed=115200\n"
            "terminal_input serial console\n"
            "terminal_output serial console\n"
            "set timeout=1\n"
            "set default=0\n"
            "\n"
            "menuentry 'Debian'\\''s 12' {\n"
            "\tsearch --no-floppy --fs-uuid --set=root ABCD-1234\n"
            "\tlinux /EFI/debian/vmlinuz-6.1 root=UUID=r00t ro console=ttyS0,115200\n"
            "\tinitrd /EFI/debian/initrd.img-6.1\n"
            "}\n");
  EXPECT_THAT(grub_secure_boot_config(secure_grub(), "/EFI/debian/vmlinuz-6.1", "", "x"), Not(HasSubstr("initrd")));
}

TEST(BootConfig, TheSignedGrubHasItsModulesBuiltInAndTheSbat) {
  const std::vector<std::string> argv = grub_secure_boot_argv(kDebianSecureBootGrub, "/tmp/s.csv", "/tmp/m.cfg",
                                                              "/boot/efi/EFI/BOOT/grubx64.efi");
  ASSERT_GE(argv.size(), 6u);
  EXPECT_EQ(argv[0], "grub-mkstandalone");
  const auto modules = std::find_if(argv.begin(), argv.end(), [](const std::string& a) { return a.starts_with("--modules="); });
  ASSERT_NE(modules, argv.end());
  EXPECT_THAT(*modules, HasSubstr(" linux "));
  EXPECT_THAT(*modules, Not(HasSubstr("configfile"))) << "no menu is read from a disk";
  EXPECT_THAT(argv, Contains("--install-modules=" + modules->substr(std::string_view("--modules=").size())));
  EXPECT_THAT(argv, ::testing::IsSupersetOf({"-O", "x86_64-efi", "--directory=/usr/lib/grub/x86_64-efi", "--sbat",
                                            "/tmp/s.csv", "-o", "/boot/efi/EFI/BOOT/grubx64.efi"}));
  EXPECT_EQ(argv.back(), "boot/grub/grub.cfg=/tmp/m.cfg");
}

TEST(BootConfig, DecodesTheRequestsSecureBootFields) {
  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<ipc::proto::InstallerRequest>();
  const BootSettings unset = decode_boot_settings(request.asReader());
  EXPECT_FALSE(unset.secure_boot);
  EXPECT_EQ(unset.grub.shim, "");
  request.setSecureBoot(true);
  request.setEspFsUuid("ABCD-1234");
  auto grub = request.initGrub();
  grub.setShim("/usr/lib/shim/shimx64.efi");
  grub.setShimPackage("shim-unsigned");
  grub.setSbat("sbat,1,\ngrub,5,\n");
  const BootSettings settings = decode_boot_settings(request.asReader());
  EXPECT_TRUE(settings.secure_boot);
  EXPECT_EQ(settings.esp_uuid, "ABCD-1234");
  EXPECT_EQ(settings.grub.shim, "/usr/lib/shim/shimx64.efi");
  EXPECT_EQ(settings.grub.shim_package, "shim-unsigned");
  EXPECT_EQ(settings.grub.sbat, "sbat,1,\ngrub,5,\n");
}

// Secure Boot: shim (Debian's CA dropped) as BOOTX64.EFI, the signed GRUB
// as shim's grubx64.efi with the menu in its memdisk, kernel and initrd on
// the ESP; no grub.cfg on any disk.
TEST_F(BootLoaderTest, SecureBootPutsShimGrubAndTheKernelOnTheEsp) {
  spit(root_ / "usr/lib/grub/x86_64-efi/linux.mod", "");
  spit(root_ / "usr/bin/grub-mkstandalone", "");
  spit(root_ / "usr/lib/shim/shimx64.efi", fake_shim());
  EXPECT_THAT(install(secure_grub()),
              UnorderedElementsAre("boot/efi/EFI/BOOT/BOOTX64.EFI", "boot/efi/EFI/BOOT/grubx64.efi",
                                   "boot/efi/EFI/debian/vmlinuz-6.1.0-28-amd64",
                                   "boot/efi/EFI/debian/initrd.img-6.1.0-28-amd64"));
  std::string patched = fake_shim();
  base::disable_shim_vendor_cert(patched);
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/BOOT/BOOTX64.EFI"), patched);
  EXPECT_EQ(slurp(root_ / "usr/lib/shim/shimx64.efi"), fake_shim()) << "the image's own shim stays";
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/debian/vmlinuz-6.1.0-28-amd64"), "kernel");
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/debian/initrd.img-6.1.0-28-amd64"), "initrd");
  ASSERT_EQ(chroot_commands_.size(), 1u);
  EXPECT_EQ(chroot_commands_[0],
            grub_secure_boot_argv(kDebianSecureBootGrub, "/tmp/os-image-composer-grub-sbat.csv",
                                  "/tmp/os-image-composer-grub-menu.cfg", "/boot/efi/EFI/BOOT/grubx64.efi"));
  EXPECT_EQ(memdisk_menu_, grub_secure_boot_config(secure_grub(), "/EFI/debian/vmlinuz-6.1.0-28-amd64",
                                                   "/EFI/debian/initrd.img-6.1.0-28-amd64",
                                                   "Debian GNU/Linux 12 (bookworm)"));
  EXPECT_EQ(sbat_, kDebianSecureBootGrub.sbat);
  EXPECT_FALSE(fs::exists(root_ / "tmp/os-image-composer-grub-menu.cfg"));
  EXPECT_FALSE(fs::exists(root_ / "tmp/os-image-composer-grub-sbat.csv"));
  EXPECT_FALSE(fs::exists(root_ / "boot/efi/EFI/BOOT/grub.cfg"));
  EXPECT_FALSE(fs::exists(root_ / "boot/grub/grub.cfg"));
}

TEST_F(BootLoaderTest, SecureBootNamesWhatIsMissing) {
  spit(root_ / "usr/lib/grub/x86_64-efi/linux.mod", "");
  spit(root_ / "usr/bin/grub-mkstandalone", "");
  const auto message = [&](const BootSettings& settings) {
    try {
      install(settings);
    } catch (const base::Error& e) {
      return std::string(e.what()) + " " + e.hint();
    }
    return std::string("no error");
  };
  EXPECT_THAT(message(secure_grub()), HasSubstr("add the package 'shim-unsigned'"));
  BootSettings undescribed = secure_grub();
  undescribed.grub = kDebianGrub;
  EXPECT_THAT(message(undescribed), HasSubstr("names no shim and SBAT for this distribution"));
  BootSettings no_esp_id = secure_grub();
  no_esp_id.esp_uuid.clear();
  EXPECT_THAT(message(no_esp_id), HasSubstr("the ESP's volume id is not known"));
  spit(root_ / "usr/lib/shim/shimx64.efi", fake_pe(0));
  EXPECT_THAT(message(secure_grub()), HasSubstr("no .vendor_cert section"));
  EXPECT_TRUE(chroot_commands_.empty());
}

TEST_F(BootLoaderTest, InstallsSystemdBootWithAnEntryAndTheKernelOnTheEsp) {
  spit(root_ / "usr/lib/systemd/boot/efi/systemd-bootx64.efi", "sd-boot");
  BootSettings settings = kEfi;
  settings.provider = "systemd-boot";
  install(settings);
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/BOOT/BOOTX64.EFI"), "sd-boot");
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/systemd/systemd-bootx64.efi"), "sd-boot");
  EXPECT_EQ(slurp(root_ / "boot/efi/loader/loader.conf"), "timeout 1\ndefault debian.conf\n");
  EXPECT_EQ(slurp(root_ / "boot/efi/loader/entries/debian.conf"),
            "title Debian GNU/Linux 12 (bookworm)\nversion 6.1.0-28-amd64\n"
            "linux /debian/vmlinuz-6.1.0-28-amd64\ninitrd /debian/initrd.img-6.1.0-28-amd64\n"
            "options root=UUID=r00t ro console=ttyS0,115200\n");
  EXPECT_EQ(slurp(root_ / "boot/efi/debian/vmlinuz-6.1.0-28-amd64"), "kernel");
  EXPECT_EQ(slurp(root_ / "boot/efi/debian/initrd.img-6.1.0-28-amd64"), "initrd");
  EXPECT_TRUE(chroot_commands_.empty());
}

TEST_F(BootLoaderTest, BuildsAUkiAsTheOnlyBootBinaryWithoutABootManager) {
  spit(root_ / "usr/lib/systemd/boot/efi/linuxx64.efi.stub", fake_pe(0));
  BootSettings settings = kEfi;
  settings.provider = "";
  settings.uki = true;
  EXPECT_THAT(install(settings), UnorderedElementsAre("boot/efi/EFI/Linux/debian-6.1.0-28-amd64.efi",
                                                      "boot/efi/EFI/BOOT/BOOTX64.EFI"));
  ASSERT_EQ(host_commands_.size(), 1u);
  EXPECT_THAT(host_commands_[0], Contains(".osrel=0x5000"));  // the fake stub ends at 0x4100
  EXPECT_THAT(host_commands_[0], Contains(".initrd=0x8000"));
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/BOOT/BOOTX64.EFI"), "uki");
  EXPECT_FALSE(fs::exists(root_ / "tmp/os-image-composer-uki"));
}

// objcopy stamps the UKI with the time it ran: the build time replaces it.
TEST_F(BootLoaderTest, TheUkisPeTimeIsTheBuildTime) {
  spit(root_ / "usr/lib/systemd/boot/efi/linuxx64.efi.stub", fake_pe(0));
  uki_bytes_ = fake_pe(0);
  put_le(uki_bytes_, 0x84 + 4, 0x6b16a369, 4);  // objcopy's "now"
  BootSettings settings = kEfi;
  settings.provider = "";
  settings.uki = true;
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  install(settings);
  ::unsetenv("SOURCE_DATE_EPOCH");
  std::string expected = fake_pe(0);
  put_le(expected, 0x84 + 4, 1700000000, 4);
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/BOOT/BOOTX64.EFI"), expected);
  EXPECT_EQ(slurp(root_ / "boot/efi/EFI/Linux/debian-6.1.0-28-amd64.efi"), expected);
}

TEST_F(BootLoaderTest, NamesThePackageOfAMissingStub) {
  BootSettings settings = kEfi;
  settings.provider = "systemd-boot";
  settings.uki = true;
  try {
    install(settings);
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.hint(), HasSubstr("systemd-boot-efi"));
  }
}

// The UKI carries the dm-verity command line, the root hash placeholder in
// it exactly once, with systemd-boot or as the only boot binary.
TEST_F(BootLoaderTest, AVerityRootsUkiCarriesThePlaceholderOnce) {
  spit(root_ / "usr/lib/systemd/boot/efi/linuxx64.efi.stub", fake_pe(0));
  spit(root_ / "usr/lib/systemd/boot/efi/systemd-bootx64.efi", "sd-boot");
  BootSettings alone = verity_uki();
  alone.provider = "";
  for (const BootSettings& settings : {verity_uki(), alone}) {
    SCOPED_TRACE(settings.provider);
    uki_cmdline_.clear();
    EXPECT_THAT(install(settings), Contains("boot/efi/EFI/Linux/debian-6.1.0-28-amd64.efi"));
    EXPECT_EQ(uki_cmdline_, kernel_arguments(settings));
    const auto at = uki_cmdline_.find("roothash=" + kPlaceholder + " ");
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(uki_cmdline_.find(kPlaceholder, at + 10), std::string::npos) << "only once";
  }
  EXPECT_FALSE(fs::exists(root_ / "boot/efi/loader/entries")) << "no entry file names a command line of its own";
  // A root without verity never carries the placeholder.
  BootSettings plain = kEfi;
  plain.provider = "";
  plain.uki = true;
  install(plain);
  EXPECT_EQ(uki_cmdline_, "root=UUID=r00t ro console=ttyS0,115200");
}

// GRUB boots a dm-verity root with its whole menu inside the EFI binary
// (and a copy beside it), where the disk maker writes the root hash: the
// root, whose hash it is, holds no menu.
TEST_F(BootLoaderTest, AVerityRootWithGrubHasTheWholeMenuOnTheEsp) {
  spit(root_ / "usr/lib/grub/x86_64-efi/linux.mod", "");
  spit(root_ / "usr/bin/grub-mkstandalone", "");
  BootSettings grub = verity_uki();
  grub.provider = "grub";
  grub.uki = false;
  EXPECT_THAT(install(grub), UnorderedElementsAre("boot/efi/EFI/BOOT/BOOTX64.EFI", "boot/efi/EFI/BOOT/grub.cfg"));
  ASSERT_EQ(chroot_commands_.size(), 1u);
  EXPECT_EQ(chroot_commands_[0].back(), "boot/grub/grub.cfg=/tmp/os-image-composer-grub-embedded.cfg");
  const std::string menu = slurp(root_ / "boot/efi/EFI/BOOT/grub.cfg");
  EXPECT_THAT(menu, HasSubstr("menuentry 'Debian GNU/Linux 12 (bookworm)'"));
  EXPECT_THAT(menu, HasSubstr("search --no-floppy --fs-uuid --set=root r00t\n"));
  EXPECT_THAT(menu, HasSubstr(" " + kernel_arguments(grub) + "\n"));
  EXPECT_THAT(menu, HasSubstr("root=/dev/mapper/root ro roothash=" + kPlaceholder + " "));
  EXPECT_THAT(menu, Not(HasSubstr("configfile")));
  EXPECT_FALSE(fs::exists(root_ / "boot/grub/grub.cfg"));
}

TEST_F(BootLoaderTest, AVerityRootRefusesWhatCannotCarryItsRootHash) {
  spit(root_ / "usr/lib/systemd/boot/efi/linuxx64.efi.stub", fake_pe(0));
  spit(root_ / "usr/lib/systemd/boot/efi/systemd-bootx64.efi", "sd-boot");
  spit(root_ / "usr/lib/grub/x86_64-efi/linux.mod", "");
  spit(root_ / "usr/bin/grub-mkstandalone", "");
  auto with = [](auto change) {
    BootSettings s = verity_uki();
    change(s);
    return s;
  };
  struct Case {
    const char* why;
    BootSettings settings;
    const char* message;
  } cases[] = {
      {"systemd-boot without a UKI", with([](BootSettings& s) { s.uki = false; }),
       "set systemConfig.kernel.uki to true or systemConfig.bootloader.provider to grub"},
      {"no boot loader at all", with([](BootSettings& s) { s = BootSettings{.verity_data_uuid = kDataUuid,
                                                                           .verity_hash_uuid = kHashUuid}; }),
       "systemConfig.kernel.uki"},
      {"a hash partition missing", with([](BootSettings& s) { s.verity_hash_uuid.clear(); }), "partition UUID ''"},
      {"a UUID that adds a word",
       with([](BootSettings& s) { s.verity_data_uuid = "0fc63daf-8483-4772-8e79 init=/bin"; }),
       "is not a GPT partition UUID"},
      {"the template's own root=", with([](BootSettings& s) { s.cmdline = "quiet root=/dev/sda2"; }),
       "has 'root=/dev/sda2'"},
      {"the template's own roothash=", with([](BootSettings& s) { s.cmdline = "roothash=00"; }), "'roothash=00'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    try {
      install(c.settings);
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_THAT(std::string(e.what()), HasSubstr("systemConfig.immutability.enabled"));
      EXPECT_THAT(std::string(e.what()), HasSubstr(c.message));
    }
  }
  EXPECT_TRUE(chroot_commands_.empty());
  EXPECT_TRUE(host_commands_.empty());
}

}  // namespace
}  // namespace stage::installer
