// The ISO's GRUB configuration, grub-mkimage, mtools and xorriso command
// lines and request checks, without GRUB or xorriso.
#include "stages/isomaker/iso_layout.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "base/error.hpp"

namespace stage::isomaker {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

IsoSpec valid_spec() {
  IsoSpec spec;
  spec.kernel = "/ws/vmlinuz";
  spec.initrd = "/ws/initrd.img";
  spec.extra_files = {{"/ws/manifest.json", "/install/manifest.json"}, {"/ws/x.raw.gz", "/images/x-1.0.raw.gz"}};
  spec.package_family = PackageFamily::kDeb;
  spec.packages = {"/cache/bash_5.2_amd64.deb"};
  spec.menu = {"Install Debian 12", "console=ttyS0", 5};
  spec.output_name = "x-1.0.iso";
  return spec;
}

std::string error_of(const IsoSpec& spec) {
  try {
    check_iso_spec(spec);
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    return e.what();
  }
  return "";
}

TEST(IsoLayout, AcceptsAValidRequest) { EXPECT_EQ(error_of(valid_spec()), ""); }

TEST(IsoLayout, RefusesBadRequestsNamingTheField) {
  IsoSpec spec = valid_spec();
  spec.volume_id = "ict cdrom";
  EXPECT_THAT(error_of(spec), HasSubstr("volumeId"));
  spec.volume_id = std::string(33, 'A');
  EXPECT_THAT(error_of(spec), HasSubstr("volumeId"));
  spec = valid_spec();
  spec.output_name = "out/x.iso";
  EXPECT_THAT(error_of(spec), HasSubstr("outputName"));
  spec = valid_spec();
  spec.extra_files.push_back({"/ws/evil", "/boot/grub/grub.cfg"});
  EXPECT_THAT(error_of(spec), HasSubstr("written by the stage itself"));
  spec = valid_spec();
  spec.extra_files.push_back({"/ws/a", "/install/manifest.json"});
  EXPECT_THAT(error_of(spec), HasSubstr("given twice"));
  spec = valid_spec();
  spec.extra_files.push_back({"/ws/a", "/config/../images/vmlinuz"});
  EXPECT_THAT(error_of(spec), HasSubstr("'..'"));
  spec = valid_spec();
  spec.extra_files.push_back({"/ws/a", "config/x"});
  EXPECT_THAT(error_of(spec), HasSubstr("absolute"));
  spec = valid_spec();
  spec.menu.cmdline = "quiet\nmenuentry evil {";
  EXPECT_THAT(error_of(spec), HasSubstr("one line"));
  spec = valid_spec();
  spec.package_family = PackageFamily::kNone;
  EXPECT_THAT(error_of(spec), HasSubstr("package family"));
}

TEST(IsoLayout, GrubMenuHasLiveDebugAndLocalDiskEntries) {
  const std::string cfg = grub_cfg({"Install 'Debian'", "console=ttyS0 quiet", 7});
  EXPECT_THAT(cfg, HasSubstr("set timeout=7\n"));
  EXPECT_THAT(cfg, HasSubstr("menuentry 'Install '\\''Debian'\\''' {\n  linux /images/vmlinuz console=ttyS0 quiet\n"
                             "  initrd /images/initrd.img\n}"));
  EXPECT_THAT(cfg, HasSubstr("(Debug shell)' {\n  linux /images/vmlinuz console=ttyS0 quiet rdinit=/bin/sh\n"));
  EXPECT_THAT(cfg, HasSubstr("if [ \"$grub_platform\" = \"efi\" ]; then\n  menuentry 'Boot from local disk' {\n    exit"));
  EXPECT_THAT(cfg, HasSubstr("chainloader (hd0)+1"));
  EXPECT_THAT(cfg, HasSubstr("terminal_output --append serial"));
  // The first entry is the default one.
  EXPECT_LT(cfg.find("menuentry 'Install"), cfg.find("(Debug shell)"));
}

TEST(IsoLayout, EarlyConfigFindsTheMediumByItsKernel) {
  EXPECT_THAT(early_grub_cfg(), HasSubstr("search --no-floppy --set=root --file /images/vmlinuz\n"));
  EXPECT_THAT(early_grub_cfg(), HasSubstr("configfile ($root)/boot/grub/grub.cfg"));
}

TEST(IsoLayout, EfiPlatformFromTheModulesDirectory) {
  EXPECT_EQ(efi_platform("/usr/lib/grub/x86_64-efi").boot_file, "BOOTX64.EFI");
  EXPECT_EQ(efi_platform("/usr/lib/grub/x86_64-efi").format, "x86_64-efi");
  EXPECT_EQ(efi_platform("/usr/lib/grub/arm64-efi").boot_file, "BOOTAA64.EFI");
  EXPECT_THROW(efi_platform("/usr/lib/grub/i386-pc"), base::Error);
}

TEST(IsoLayout, EmbedsPresentModulesAndNamesAMissingRequiredOne) {
  const std::vector<std::string> present = {"iso9660", "search_fs_file", "configfile", "normal", "linux", "fat"};
  const auto modules = embedded_modules(efi_modules_wanted(), efi_modules_required(), present, "/t/x86_64-efi");
  EXPECT_THAT(modules, ::testing::Contains("fat"));
  EXPECT_THAT(modules, Not(::testing::Contains("efi_gop")));
  try {
    embedded_modules(bios_modules_wanted(), bios_modules_required(), present, "/t/i386-pc");
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'/t/i386-pc' has no biosdisk.mod"));
  }
}

TEST(IsoLayout, MkimageRunsThroughTheTreesLoader) {
  const MkimageCall call{"/t/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/t/usr/lib/x86_64-linux-gnu",
                         "/t/usr/bin/grub-mkimage", "/t/usr/lib/grub/x86_64-efi", "x86_64-efi", "/w/early.cfg",
                         "/w/BOOTX64.EFI", {"iso9660", "normal"}};
  const std::vector<std::string> expected = {
      "/t/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "--inhibit-cache", "--library-path",
      "/t/usr/lib/x86_64-linux-gnu", "/t/usr/bin/grub-mkimage", "-d", "/t/usr/lib/grub/x86_64-efi", "-O", "x86_64-efi",
      "-o", "/w/BOOTX64.EFI", "-p", "/boot/grub", "-c", "/w/early.cfg", "iso9660", "normal"};
  EXPECT_EQ(mkimage_argv(call), expected);
}

TEST(IsoLayout, EfiImageIsSizedFromItsFileWithAFixedSerial) {
  EXPECT_EQ(efi_image_size(1), 2u << 20);
  EXPECT_EQ(efi_image_size(3u << 20), 4u << 20);
  EXPECT_EQ(efi_image_size((3u << 20) + 1), 5u << 20);
  const auto commands = efi_image_commands("/w/efi.img", 4u << 20, {{"/w/BOOTX64.EFI", "BOOTX64.EFI"}});
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_EQ(commands[0][0], "mformat");
  EXPECT_THAT(commands[0], ::testing::Contains("8192"));
  EXPECT_THAT(commands[0], ::testing::Contains("-N"));
  EXPECT_EQ(commands[2], (std::vector<std::string>{"mcopy", "-i", "/w/efi.img", "/w/BOOTX64.EFI",
                                                   "::/EFI/BOOT/BOOTX64.EFI"}));
}

// Secure Boot: shim as the boot file and the signed GRUB beside it, where
// shim looks for it.
TEST(IsoLayout, TheSecureBootEfiImageHoldsShimAndGrub) {
  const auto commands = efi_image_commands("/w/efi.img", 4u << 20,
                                           {{"/w/shim.efi", "BOOTX64.EFI"}, {"/w/signed.efi", "grubx64.efi"}});
  ASSERT_EQ(commands.size(), 4u);
  EXPECT_EQ(commands[2], (std::vector<std::string>{"mcopy", "-i", "/w/efi.img", "/w/shim.efi",
                                                   "::/EFI/BOOT/BOOTX64.EFI"}));
  EXPECT_EQ(commands[3], (std::vector<std::string>{"mcopy", "-i", "/w/efi.img", "/w/signed.efi",
                                                   "::/EFI/BOOT/grubx64.efi"}));
}

// The Secure Boot GRUB reads no configuration from the medium: the menu is
// the grub.cfg of its memdisk, its prefix, read by normal mode (an early
// config's rescue parser knows no menuentry block), after the search for the
// medium; its SBAT is given.
TEST(IsoLayout, TheSecureBootGrubHasTheWholeMenuInItsMemdiskAndItsSbat) {
  const MenuSpec menu{"Install OIC", "console=ttyS0", 5};
  const std::string cfg = secure_boot_grub_cfg(menu);
  EXPECT_EQ(cfg, "search --no-floppy --set=root --file /images/vmlinuz\n" + grub_cfg(menu));
  EXPECT_EQ(cfg.find("configfile"), std::string::npos);
  const MkimageCall call{.loader = "/t/ld.so",
                         .library_path = "/t/lib",
                         .mkimage = "/t/grub-mkimage",
                         .modules_dir = "/t/x86_64-efi",
                         .format = "x86_64-efi",
                         .config = "",
                         .output = "/w/grubx64.efi",
                         .modules = {"linux"},
                         .sbat = "/w/sbat.csv",
                         .memdisk = "/w/memdisk.tar"};
  const std::vector<std::string> expected = {
      "/t/ld.so", "--inhibit-cache", "--library-path", "/t/lib", "/t/grub-mkimage", "-d", "/t/x86_64-efi",
      "-O", "x86_64-efi", "-o", "/w/grubx64.efi", "-p", "(memdisk)/boot/grub", "-m", "/w/memdisk.tar",
      "--sbat", "/w/sbat.csv", "linux"};
  EXPECT_EQ(mkimage_argv(call), expected);
  const auto modules = secure_boot_modules_required();
  for (const char* m : {"iso9660", "search_fs_file", "linux", "normal", "serial", "memdisk", "tar"}) {
    EXPECT_NE(std::find(modules.begin(), modules.end(), m), modules.end()) << m;
  }
  EXPECT_THROW(check_loader_spec({{}, menu, "not a csv", "grubx64.efi"}), base::Error);
  EXPECT_THROW(check_loader_spec({{}, menu, "sbat,1\n", "../x"}), base::Error);
  EXPECT_NO_THROW(check_loader_spec({{}, menu, "sbat,1,SBAT Version\n", "grubx64.efi"}));
}

TEST(IsoLayout, GraftPointsEscapeEqualsAndBackslash) {
  EXPECT_EQ(graft_pathspec({"/config/a=b", "/ws/c\\d"}), "/config/a\\=b=/ws/c\\\\d");
}

TEST(IsoLayout, TimestampsAreUtc) {
  EXPECT_EQ(iso_timestamp(1700000000), "2023111422132000");
  EXPECT_EQ(rfc1123_date(1700000000), "Tue, 14 Nov 2023 22:13:20 +0000");
}

XorrisoCall call_of(bool bios) {
  return {.output = "/o/.x.iso.partial", .volume_id = "ICT_CDROM", .time = 1700000000,
          .efi_image = "/boot/grub/efi.img", .efi_image_source = "/w/efi.img",
          .bios_image = bios ? "/boot/grub/bios.img" : "", .bios_mbr = bios ? "/t/i386-pc/boot_hybrid.img" : "",
          .grafts = {{"/images/vmlinuz", "/ws/vmlinuz"}}};
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += a + " ";
  return out;
}

TEST(IsoLayout, XorrisoWritesAHybridIsoWithFixedTimes) {
  const std::string argv = joined(xorriso_argv(call_of(true)));
  EXPECT_THAT(argv, HasSubstr("xorriso -follow param -as mkisofs -o /o/.x.iso.partial -graft-points -r -J -joliet-long -l "));
  EXPECT_THAT(argv, HasSubstr("-volid ICT_CDROM --modification-date=2023111422132000 --set_all_file_dates "
                              "2023111422132000 "));
  EXPECT_THAT(argv, HasSubstr("-b boot/grub/bios.img -no-emul-boot -boot-load-size 4 -boot-info-table "
                              "--grub2-boot-info --grub2-mbr /t/i386-pc/boot_hybrid.img -eltorito-alt-boot "));
  EXPECT_THAT(argv, HasSubstr("-e boot/grub/efi.img -no-emul-boot -append_partition 2 0xef /w/efi.img "
                              "-appended_part_as_gpt --protective-msdos-label "));
  EXPECT_THAT(argv, HasSubstr(" /images/vmlinuz=/ws/vmlinuz "));
}

TEST(IsoLayout, XorrisoWithoutBiosHasNoElToritoBiosImage) {
  const std::string argv = joined(xorriso_argv(call_of(false)));
  EXPECT_THAT(argv, Not(HasSubstr("-b ")));
  EXPECT_THAT(argv, Not(HasSubstr("--grub2-mbr")));
  EXPECT_THAT(argv, HasSubstr("-e boot/grub/efi.img"));
}

}  // namespace
}  // namespace stage::isomaker
