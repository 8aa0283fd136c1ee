// The host programs a build checks up front: what the stages declare beside
// their policies, found through the stage table.
#include "supervisor/build/host_tools.hpp"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace supervisor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

config::Partition partition(std::string fs_type) {
  config::Partition p;
  p.fs_type = std::move(fs_type);
  return p;
}

std::vector<std::string> programs_of(const std::vector<HostTool>& tools) {
  std::vector<std::string> programs;
  for (const HostTool& tool : tools) programs.push_back(tool.program);
  return programs;
}

TEST(HostTools, TheRepositoryStepsRunTheVerifiersGpg) {
  const std::vector<HostTool> tools = repository_tools();
  ASSERT_GE(tools.size(), 2u);
  EXPECT_EQ(tools[0], (HostTool{"gpg", "gnupg"}));
  EXPECT_EQ(tools[1], (HostTool{"gpgconf", "gnupg"}));
  EXPECT_EQ(tools.size(), ::geteuid() == 0 ? 2u : 4u) << "newuidmap and newgidmap for an unprivileged caller";
}

TEST(HostTools, AnImageNeedsTheInstallersAndTheDiskMakersPrograms) {
  config::ImageTemplate image;
  config::Disk disk;
  disk.partitions = {partition("fat32"), partition("ext4"), partition("swap")};
  disk.artifacts = {{"raw", "xz"}, {"qcow2", std::nullopt}};
  image.disk = disk;
  EXPECT_EQ(programs_of(image_tools(image, "deb")),
            (std::vector<std::string>{"cp", "sfdisk", "mkfs.vfat", "mcopy", "mkfs.ext4", "debugfs", "mkswap", "xz",
                                      "qemu-img"}));

  config::SystemConfig system;
  system.kernel = config::Kernel{.uki = true};
  image.system_config = system;
  EXPECT_THAT(programs_of(image_tools(image, "deb")), ::testing::Contains("objcopy"));
}

// Secure Boot keys: the signer's sbsign and sbverify are checked up front too.
TEST(HostTools, SecureBootKeysNeedTheSignersSbsignAndSbverify) {
  config::ImageTemplate image;
  image.disk = config::Disk{};
  image.system_config = config::SystemConfig{};
  image.system_config->immutability = config::Immutability{.enabled = true};
  EXPECT_THAT(programs_of(image_tools(image, "deb")), Not(::testing::Contains("sbsign")));
  image.system_config->immutability->secure_boot_db_key = "DB.key";
  image.system_config->immutability->secure_boot_db_crt = "DB.crt";
  image.system_config->immutability->secure_boot_db_cer = "DB.cer";
  EXPECT_THAT(programs_of(image_tools(image, "deb")), ::testing::IsSupersetOf({"sbsign", "sbverify", "veritysetup"}));
}

// An initrd is packed by the isomaker with libarchive: no disk maker program,
// even when the template (or its OS default) has a disk section.
TEST(HostTools, AnInitrdImageNeedsOnlyTheInstallersPrograms) {
  config::ImageTemplate image;
  config::Disk disk;
  disk.partitions = {partition("fat32"), partition("ext4")};
  disk.artifacts = {{"raw", "xz"}};
  image.disk = disk;
  image.target = config::Target{};
  image.target->image_type = "img";
  EXPECT_EQ(programs_of(image_tools(image, "deb")), (std::vector<std::string>{"cp"})) << "the installer's alone";
  EXPECT_THAT(image_tools(image, "rpm"), ::testing::Contains(HostTool{"rpm", "rpm"}));
}

// The rpm family's installer runs the host's rpm and rpmkeys (Debian
// package rpm): a build checks for them before it starts, a deb build not.
TEST(HostTools, AnRpmImageNeedsTheHostsRpmAndRpmkeys) {
  config::ImageTemplate image;
  const std::vector<HostTool> rpm = image_tools(image, "rpm");
  EXPECT_THAT(rpm, ::testing::Contains(HostTool{"rpm", "rpm"}));
  EXPECT_THAT(rpm, ::testing::Contains(HostTool{"rpmkeys", "rpm"}));
  const std::vector<std::string> deb = programs_of(image_tools(image, "deb"));
  EXPECT_THAT(deb, Not(::testing::Contains("rpm")));
  EXPECT_THAT(deb, Not(::testing::Contains("rpmkeys")));
}

TEST(HostTools, AMissingProgramIsNamedWithItsPackageNotAnInstallCommand) {
  try {
    require_host_tools({{"gpg", "gnupg"}, {"oic-absent-program", "oic-absent-package"}});
    FAIL() << "a missing program was accepted";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kFailed);
    EXPECT_THAT(e.message(), HasSubstr("oic-absent-program"));
    EXPECT_THAT(e.message(), Not(HasSubstr("gpg")));
    EXPECT_THAT(e.hint(), HasSubstr("oic-absent-program"));
    EXPECT_THAT(e.hint(), HasSubstr("oic-absent-package"));
    EXPECT_THAT(e.hint(), Not(HasSubstr("apt-get")));
  }
}

}  // namespace
}  // namespace supervisor
