#include "config/unbuilt_keys.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ImageTemplate with_immutability(std::optional<Immutability> im) {
  ImageTemplate t;
  t.system_config = SystemConfig{};
  t.system_config->immutability = std::move(im);
  return t;
}

TEST(UnbuiltKeys, NoneForATemplateWithoutImmutabilityOrWithItOff) {
  EXPECT_TRUE(unbuilt_keys(ImageTemplate{}).empty());
  EXPECT_TRUE(unbuilt_keys(with_immutability(std::nullopt)).empty());
  EXPECT_TRUE(unbuilt_keys(with_immutability(Immutability{.enabled = false})).empty());
  EXPECT_NO_THROW(require_buildable(with_immutability(Immutability{.enabled = false})));
}

ImageTemplate verity_template(std::string provider, bool uki) {
  ImageTemplate t = with_immutability(Immutability{.enabled = true});
  t.target = Target{.image_type = "raw"};
  t.system_config->bootloader = Bootloader{.boot_type = "efi", .provider = std::move(provider)};
  t.system_config->kernel = Kernel{};
  t.system_config->kernel->uki = uki;
  return t;
}

// The merged elxr12 and emt3 defaults ask for a verity root with
// systemd-boot and a UKI: built, as is one booted by GRUB (the root hash in
// the menu inside its EFI binary). Where the root hash has no place to go
// (systemd-boot's entry files, an ISO), the build is refused rather than
// making a mutable image.
TEST(UnbuiltKeys, AVerityRootIsBuiltWithAUkiOrGrubOnARawDisk) {
  EXPECT_TRUE(unbuilt_keys(verity_template("systemd-boot", true)).empty());
  EXPECT_TRUE(unbuilt_keys(verity_template("grub", true)).empty());
  EXPECT_TRUE(unbuilt_keys(verity_template("grub2", false)).empty());
  EXPECT_NO_THROW(require_buildable(verity_template("grub", false)));
  EXPECT_THAT(unbuilt_keys(verity_template("systemd-boot", false)),
              ElementsAre(HasSubstr("set systemConfig.bootloader.provider to grub, or to systemd-boot with "
                                    "systemConfig.kernel.uki true (it is systemd-boot without a UKI)")));
  ImageTemplate iso = verity_template("grub", false);
  iso.target->image_type = "iso";
  EXPECT_THAT(unbuilt_keys(iso), ElementsAre(HasSubstr("not for imageType iso")));
  try {
    require_buildable(verity_template("systemd-boot", false));
    ADD_FAILURE() << "the build was not refused";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(e.what(), HasSubstr("dm-verity"));
  }
}

ImageTemplate with_secure_boot(ImageTemplate t) {
  t.system_config->immutability->secure_boot_db_key = "/keys/db.key";
  t.system_config->immutability->secure_boot_db_crt = "/keys/db.crt";
  t.system_config->immutability->secure_boot_db_cer = "/keys/db.cer";
  return t;
}

// Secure Boot signs the ESP of a raw disk booted by systemd-boot with a UKI,
// or by GRUB through shim, with a dm-verity root or without (the merge
// turned `enabled` off for want of a hash partition), and an ISO's boot
// chain and its disk: built. An initrd and systemd-boot without a UKI are
// refused for the keys.
TEST(UnbuiltKeys, SecureBootKeysAreBuiltForRawDisksAndIsosWithGrubOrSystemdBootAndAUki) {
  EXPECT_TRUE(unbuilt_keys(with_secure_boot(verity_template("systemd-boot", true))).empty());
  EXPECT_NO_THROW(require_buildable(with_secure_boot(verity_template("systemd-boot", true))));
  for (const char* provider : {"grub", "grub2"}) {
    ImageTemplate grub = with_secure_boot(verity_template(provider, false));
    grub.system_config->immutability->enabled = false;
    EXPECT_TRUE(unbuilt_keys(grub).empty()) << provider;
    EXPECT_NO_THROW(require_buildable(grub)) << provider;
  }
  EXPECT_TRUE(unbuilt_keys(with_secure_boot(verity_template("grub", false))).empty());
  ImageTemplate iso = with_secure_boot(verity_template("grub", false));
  iso.system_config->immutability->enabled = false;
  iso.target->image_type = "iso";
  EXPECT_TRUE(unbuilt_keys(iso).empty());
  ImageTemplate initrd = iso;
  initrd.target->image_type = "initrd";
  EXPECT_THAT(unbuilt_keys(initrd),
              ElementsAre(HasSubstr("secureBootDBKey/secureBootDBCrt/secureBootDBCer: Secure Boot signing is built "
                                    "for raw disk images and ISOs (their disk) booted by GRUB, or by systemd-boot "
                                    "with a UKI, not for imageType initrd with grub without a UKI")));
  EXPECT_THROW(require_buildable(initrd), base::Error);
  ImageTemplate no_uki = with_secure_boot(verity_template("systemd-boot", false));
  no_uki.system_config->immutability->enabled = false;
  EXPECT_THAT(unbuilt_keys(no_uki), ElementsAre(HasSubstr("not for imageType raw with systemd-boot without a UKI")));
}

TEST(UnbuiltKeys, XfsAndLegacyBootOfADiskImageAreNamed) {
  ImageTemplate t;
  t.target = Target{.image_type = "raw"};
  t.disk = Disk{};
  t.disk->partitions = {Partition{.id = "esp", .fs_type = "vfat"}, Partition{.id = "rootfs", .fs_type = "xfs"}};
  t.system_config = SystemConfig{};
  t.system_config->bootloader = Bootloader{.boot_type = "legacy", .provider = "grub"};
  EXPECT_THAT(unbuilt_keys(t), ElementsAre(HasSubstr("disk.partitions[1].fsType: xfs"),
                                           HasSubstr("systemConfig.bootloader.bootType: legacy")));
  // An ISO boots under BIOS: legacy is built there.
  t.target->image_type = "iso";
  t.disk->partitions[1].fs_type = "ext4";
  EXPECT_TRUE(unbuilt_keys(t).empty());
}

// The reference's `grub` and `dmroot` flags change nothing in a table made
// here: a template carrying them is refused, naming the flag, rather than
// built as if they were not there.
TEST(UnbuiltKeys, PartitionFlagsWithoutAnEffectAreNamed) {
  ImageTemplate t;
  t.target = Target{.image_type = "raw"};
  t.disk = Disk{};
  t.disk->partitions = {Partition{.id = "esp", .flags = {"esp", "boot"}},
                        Partition{.id = "rootfs", .flags = {"required", "dmroot", "grub"}}};
  EXPECT_THAT(unbuilt_keys(t), ElementsAre(HasSubstr("disk.partitions[1].flags: 'dmroot' has no effect"),
                                           HasSubstr("disk.partitions[1].flags: 'grub' has no effect")));
  t.disk->partitions[1].flags = {"required", "read_only", "hidden", "no_automount", "legacy_boot", "bios_grub"};
  EXPECT_TRUE(unbuilt_keys(t).empty());
}

}  // namespace
}  // namespace config
