#include "stages/installer/initramfs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>

#include "base/error.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(KernelVersion, OrdersNumbersNumerically) {
  struct Case {
    const char* a;
    const char* b;
    bool less;
  } cases[] = {
      {"6.1.0-9-amd64", "6.1.0-28-amd64", true},    // ABI 28 is newer than 9
      {"6.1.0-28-amd64", "6.1.0-9-amd64", false},
      {"5.10.0-30-amd64", "6.1.0-1-amd64", true},   // major version first
      {"6.1.0-28-amd64", "6.1.0-28-amd64", false},  // equal is not less
      {"6.1.0-28", "6.1.0-28-amd64", true},         // a prefix sorts first
      {"6.10.0", "6.9.0", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.a) + " < " + c.b);
    EXPECT_EQ(kernel_version_less(c.a, c.b), c.less);
  }
}

class InitramfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/initramfs_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "boot");
  }
  void TearDown() override { fs::remove_all(root_); }

  void touch(const std::string& path) {
    fs::create_directories((root_ / path).parent_path());
    std::ofstream(root_ / path) << "x";
  }

  // Records the command and writes the initrd as the real tool would.
  CommandRunner recorder(bool writes_initrd = true) {
    return [this, writes_initrd](const ChrootCommand& command, const std::string&) {
      commands_.push_back(command.argv);
      if (writes_initrd) touch("boot/initrd.img-6.1.0-28-amd64");
      return std::string();
    };
  }

  fs::path root_;
  std::vector<std::vector<std::string>> commands_;
  const KernelInfo kernel_{"6.1.0-28-amd64", "boot/vmlinuz-6.1.0-28-amd64", "boot/initrd.img-6.1.0-28-amd64"};
};

TEST_F(InitramfsTest, FindsTheNewestKernel) {
  touch("boot/vmlinuz-6.1.0-9-amd64");
  touch("boot/vmlinuz-6.1.0-28-amd64");
  touch("boot/config-6.1.0-99-amd64");
  fs::create_symlink("vmlinuz-6.1.0-9-amd64", root_ / "boot/vmlinuz-9.9.9");  // links are not kernels
  const auto kernel = find_kernel(root_, "initrd.img-{kver}");
  ASSERT_TRUE(kernel);
  EXPECT_EQ(kernel->version, "6.1.0-28-amd64");
  EXPECT_EQ(kernel->kernel_path, "boot/vmlinuz-6.1.0-28-amd64");
  EXPECT_EQ(kernel->initrd_path, "boot/initrd.img-6.1.0-28-amd64");
}

TEST_F(InitramfsTest, FindsNoKernelInATreeWithoutOne) {
  EXPECT_FALSE(find_kernel(root_, "initrd.img-{kver}"));
  fs::remove(root_ / "boot");
  EXPECT_FALSE(find_kernel(root_, "initrd.img-{kver}"));
}

// The initrd's name is the distribution's (provider config.yml), not Debian's.
TEST_F(InitramfsTest, NamesTheInitrdAsTheDistributionDoes) {
  touch("boot/vmlinuz-6.6.47.1-1.azl3");
  const auto kernel = find_kernel(root_, "initramfs-{kver}.img");
  ASSERT_TRUE(kernel);
  EXPECT_EQ(kernel->initrd_path, "boot/initramfs-6.6.47.1-1.azl3.img");
  EXPECT_EQ(initrd_path("initrd.img-{kver}", "6.1.0-28-amd64"), "boot/initrd.img-6.1.0-28-amd64");
}

TEST_F(InitramfsTest, RefusesAnInitrdNameWithoutOneVersion) {
  touch("boot/vmlinuz-6.1.0-28-amd64");
  for (const char* pattern : {"", "initrd.img", "../initrd-{kver}", "efi/initrd-{kver}", "i-{kver}-{kver}"}) {
    SCOPED_TRACE(pattern);
    try {
      find_kernel(root_, pattern);
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_NE(std::string(e.what()).find("initrdFileName '" + std::string(pattern) + "'"), std::string::npos)
          << e.what();
    }
  }
}

TEST_F(InitramfsTest, CreatesOrUpdatesWithInitramfsTools) {
  touch("usr/sbin/update-initramfs");
  make_initramfs(root_, kernel_, "initramfs-tools", {}, recorder());
  make_initramfs(root_, kernel_, "initramfs-tools", {}, recorder());
  EXPECT_THAT(commands_, ElementsAre(
      std::vector<std::string>{"update-initramfs", "-c", "-k", "6.1.0-28-amd64"},
      std::vector<std::string>{"update-initramfs", "-u", "-k", "6.1.0-28-amd64"}));
}

TEST_F(InitramfsTest, RunsDracutWithoutHostOnlyMode) {
  touch("usr/bin/dracut");
  make_initramfs(root_, kernel_, "dracut", {}, recorder());
  EXPECT_THAT(commands_, ElementsAre(std::vector<std::string>{
      "dracut", "--force", "--no-hostonly", "--reproducible", "--kver", "6.1.0-28-amd64", "/boot/initrd.img-6.1.0-28-amd64"}));
}

// kernel.enableExtraModules: listed for initramfs-tools after what the file
// held, passed to dracut. "usb_common" names the file usb-common.ko; usbcore
// is built in.
TEST_F(InitramfsTest, ExtraModulesAreListedForInitramfsToolsAndPassedToDracut) {
  const std::string modules = "usr/lib/modules/6.1.0-28-amd64/";
  touch(modules + "kernel/drivers/usb/common/usb-common.ko");
  touch(modules + "kernel/drivers/input/misc/pcspkr.ko.xz");
  std::ofstream(root_ / (modules + "modules.builtin")) << "kernel/drivers/usb/core/usbcore.ko\n";
  touch("usr/sbin/update-initramfs");
  fs::create_directories(root_ / "etc/initramfs-tools");
  std::ofstream(root_ / "etc/initramfs-tools/modules") << "# List of modules\nloop";
  const std::vector<std::string> extra = {"usbcore", "usb_common", "pcspkr"};
  make_initramfs(root_, kernel_, "initramfs-tools", {extra}, recorder());
  std::ifstream in(root_ / "etc/initramfs-tools/modules");
  const std::string listed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(listed, "# List of modules\nloop\n# kernel.enableExtraModules of the image template\nusbcore\nusb_common\npcspkr\n");
  touch("usr/bin/dracut");
  commands_.clear();
  make_initramfs(root_, kernel_, "dracut", {extra}, recorder());
  EXPECT_THAT(commands_, ElementsAre(std::vector<std::string>{
      "dracut", "--force", "--no-hostonly", "--reproducible", "--add-drivers", "usbcore usb_common pcspkr", "--kver", "6.1.0-28-amd64",
      "/boot/initrd.img-6.1.0-28-amd64"}));
}

TEST_F(InitramfsTest, AnExtraModuleTheKernelLacksIsAnErrorNamingIt) {
  touch("usr/lib/modules/6.1.0-28-amd64/kernel/drivers/usb/core/usbcore.ko");
  touch("usr/bin/dracut");
  for (const std::vector<std::string>& extra : {std::vector<std::string>{"usbcore", "nosuchmod"},
                                                std::vector<std::string>{"--help"}}) {
    try {
      make_initramfs(root_, kernel_, "dracut", {extra}, recorder());
      ADD_FAILURE() << "no error for " << extra.back();
    } catch (const base::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("'" + extra.back() + "'"));
    }
  }
  // An initrd image (no initramfs of its own) holds every module: checked all the same.
  EXPECT_NO_THROW(make_initramfs(root_, kernel_, "none", {{"usbcore"}}, recorder()));
  EXPECT_THROW(make_initramfs(root_, kernel_, "none", {{"nosuchmod"}}, recorder()), base::Error);
  EXPECT_TRUE(commands_.empty());
}

TEST_F(InitramfsTest, DoesNothingForNone) {
  make_initramfs(root_, kernel_, "none", {}, recorder());
  make_initramfs(root_, kernel_, "", {}, recorder());
  EXPECT_TRUE(commands_.empty());
}

TEST_F(InitramfsTest, NamesThePackageWhenTheToolIsMissing) {
  try {
    make_initramfs(root_, kernel_, "dracut", {}, recorder());
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(e.hint(), HasSubstr("'dracut'"));
  }
  EXPECT_THROW(make_initramfs(root_, kernel_, "mkinitcpio", {}, recorder()), base::Error);
  EXPECT_TRUE(commands_.empty());
}

TEST_F(InitramfsTest, FailsWhenTheToolWritesNoInitrd) {
  touch("usr/sbin/update-initramfs");
  EXPECT_THROW(make_initramfs(root_, kernel_, "initramfs-tools", {}, recorder(false)), base::Error);
}

// A dm-verity root: dracut adds systemd-veritysetup (after the template's
// modules); an image that cannot open the root in its initramfs is refused.
TEST_F(InitramfsTest, AVerityRootAddsDracutsVeritysetupModule) {
  touch("usr/bin/dracut");
  touch("usr/lib/dracut/modules.d/01systemd-veritysetup/module-setup.sh");
  touch("usr/lib/systemd/systemd-veritysetup");
  touch("usr/lib/modules/6.1.0-28-amd64/kernel/drivers/md/dm-verity.ko");
  make_initramfs(root_, kernel_, "dracut", {.extra_modules = {"dm-verity"}, .verity_root = true}, recorder());
  EXPECT_THAT(commands_, ElementsAre(std::vector<std::string>{
      "dracut", "--force", "--no-hostonly", "--reproducible", "--add-drivers", "dm-verity", "--add", "systemd-veritysetup", "--kver",
      "6.1.0-28-amd64", "/boot/initrd.img-6.1.0-28-amd64"}));
}

TEST_F(InitramfsTest, AVerityRootRefusesAnInitramfsThatCannotOpenIt) {
  touch("usr/sbin/update-initramfs");
  touch("usr/bin/dracut");
  struct Case {
    const char* why;
    const char* tool;
    const char* message;
  } cases[] = {
      {"initramfs-tools runs no systemd", "initramfs-tools",
       "a dm-verity root needs dracut in the image: add the package dracut to systemConfig.packages"},
      {"no initramfs", "none", "a dm-verity root needs dracut"},
      {"a dracut without the module", "dracut", "no systemd-veritysetup module"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    try {
      make_initramfs(root_, kernel_, c.tool, {.verity_root = true}, recorder());
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_THAT(e.what(), HasSubstr("systemConfig.immutability.enabled"));
      EXPECT_THAT(e.what(), HasSubstr(c.message));
    }
  }
  touch("usr/lib/dracut/modules.d/01systemd-veritysetup/module-setup.sh");
  try {
    make_initramfs(root_, kernel_, "dracut", {.verity_root = true}, recorder());
    ADD_FAILURE() << "no error without systemd-veritysetup";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("systemd-veritysetup' is not in the image"));
    EXPECT_THAT(e.hint(), HasSubstr("systemd"));
  }
  EXPECT_TRUE(commands_.empty());
  EXPECT_FALSE(fs::exists(root_ / "etc/initramfs-tools/modules"));
}

}  // namespace
}  // namespace stage::installer
