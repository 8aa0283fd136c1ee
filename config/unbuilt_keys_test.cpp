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

// The merged elxr12 and emt3 defaults ask for a verity root: a build of them
// must not make a mutable image and call it done.
TEST(UnbuiltKeys, ImmutabilityAndSecureBootKeysAreNamedAndTheBuildRefused) {
  const ImageTemplate t = with_immutability(Immutability{.enabled = true,
                                                         .secure_boot_db_key = "/keys/db.key",
                                                         .secure_boot_db_crt = "/keys/db.crt",
                                                         .secure_boot_db_cer = "/keys/db.cer"});
  EXPECT_THAT(unbuilt_keys(t), ElementsAre(HasSubstr("systemConfig.immutability.enabled"),
                                           HasSubstr("secureBootDBKey/secureBootDBCrt/secureBootDBCer")));
  try {
    require_buildable(t);
    ADD_FAILURE() << "the build was not refused";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(e.what(), HasSubstr("dm-verity"));
    EXPECT_THAT(e.what(), HasSubstr("Secure Boot"));
  }
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

}  // namespace
}  // namespace config
