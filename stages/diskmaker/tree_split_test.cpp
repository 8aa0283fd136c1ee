// Moving partitions' subtrees out of the tree and back.
#include "stages/diskmaker/tree_split.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

namespace fs = std::filesystem;

class TreeSplitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "diskmaker-split-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "root/boot/efi/EFI");
    fs::create_directories(base_ / "work");
    std::ofstream(base_ / "root/boot/vmlinuz") << "kernel";
    std::ofstream(base_ / "root/boot/efi/EFI/BOOTX64.EFI") << "efi";
    ::chmod((base_ / "root/boot/efi").c_str(), 0700);
    root_ = base::UniqueFd(::open((base_ / "root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    work_ = base::UniqueFd(::open((base_ / "work").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override { fs::remove_all(base_); }

  PartitionSpec mounted(std::string id, std::string mount_point) {
    PartitionSpec p;
    p.id = std::move(id);
    p.fs_type = "ext4";
    p.mount_point = std::move(mount_point);
    return p;
  }

  fs::path base_;
  base::UniqueFd root_, work_;
};

TEST_F(TreeSplitTest, MovesNestedSubtreesOutAndLeavesEmptyMountPointsWithTheirModes) {
  const PartitionSpec esp = mounted("esp", "/boot/efi");
  const PartitionSpec boot = mounted("boot", "/boot");
  {
    TreeSplit split(root_.get(), work_.get(), {&esp, &boot});
    const fs::path esp_dir = base_ / "work" / *split.moved_name("esp");
    const fs::path boot_dir = base_ / "work" / *split.moved_name("boot");
    EXPECT_TRUE(fs::exists(esp_dir / "EFI/BOOTX64.EFI"));
    EXPECT_TRUE(fs::exists(boot_dir / "vmlinuz"));
    EXPECT_TRUE(fs::is_empty(boot_dir / "efi"));  // the ESP's mount point inside /boot
    EXPECT_TRUE(fs::is_directory(base_ / "root/boot"));
    EXPECT_TRUE(fs::is_empty(base_ / "root/boot"));
    struct stat st {};
    ASSERT_EQ(::stat((boot_dir / "efi").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_FALSE(split.moved_name("root").has_value());
  }
  EXPECT_TRUE(fs::exists(base_ / "root/boot/vmlinuz"));
  EXPECT_TRUE(fs::exists(base_ / "root/boot/efi/EFI/BOOTX64.EFI"));
  EXPECT_TRUE(fs::is_empty(base_ / "work"));
}

TEST_F(TreeSplitTest, MakesAMissingMountPointAndAnEmptySource) {
  const PartitionSpec var = mounted("var", "/var/lib/data");
  TreeSplit split(root_.get(), work_.get(), {&var});
  EXPECT_TRUE(fs::is_empty(base_ / "work" / *split.moved_name("var")));
  EXPECT_TRUE(fs::is_directory(base_ / "root/var/lib/data"));
  split.restore();
  EXPECT_TRUE(fs::is_empty(base_ / "work"));
}

TEST_F(TreeSplitTest, RefusesAMountPointBehindASymlink) {
  fs::create_directories(base_ / "elsewhere/efi");
  fs::remove_all(base_ / "root/boot");
  fs::create_directory_symlink(base_ / "elsewhere", base_ / "root/boot");
  const PartitionSpec esp = mounted("esp", "/boot/efi");
  EXPECT_THROW(TreeSplit(root_.get(), work_.get(), {&esp}), base::Error);
  EXPECT_TRUE(fs::exists(base_ / "elsewhere/efi"));
}

TEST_F(TreeSplitTest, RefusesAMountPointThatIsAFile) {
  std::ofstream(base_ / "root/srv") << "not a directory";
  const PartitionSpec srv = mounted("srv", "/srv");
  EXPECT_THROW(TreeSplit(root_.get(), work_.get(), {&srv}), base::Error);
  EXPECT_TRUE(fs::is_regular_file(base_ / "root/srv"));
}

}  // namespace
}  // namespace stage::diskmaker
