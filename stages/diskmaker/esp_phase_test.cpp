// The two-run disk's pieces: which partitions each phase makes, and the copy
// of the ESP's files that the supervisor signs between the runs.
#include "stages/diskmaker/esp_phase.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

namespace fs = std::filesystem;

class EspPhaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "diskmaker-esp-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "src/EFI/BOOT");
    fs::create_directories(base_ / "dst");
    std::ofstream(base_ / "src/EFI/BOOT/BOOTX64.EFI") << "MZ loader";
    std::ofstream(base_ / "src/readme") << "text";
    ::chmod((base_ / "src/readme").c_str(), 0600);
  }
  void TearDown() override { fs::remove_all(base_); }
  base::UniqueFd open_dir(const fs::path& p) {
    return base::UniqueFd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  fs::path base_;
};

TEST(EspPhase, EachPhaseMakesItsPartitions) {
  const PartitionSpec esp{.id = "esp", .fs_type = "fat32"};
  const PartitionSpec root{.id = "root", .fs_type = "ext4"};
  EXPECT_TRUE(phase_makes(DiskPhase::kWhole, esp));
  EXPECT_TRUE(phase_makes(DiskPhase::kWhole, root));
  EXPECT_FALSE(phase_makes(DiskPhase::kPartitions, esp));
  EXPECT_TRUE(phase_makes(DiskPhase::kPartitions, root));
  EXPECT_TRUE(phase_makes(DiskPhase::kFinish, esp));
  EXPECT_FALSE(phase_makes(DiskPhase::kFinish, root));
  EXPECT_EQ(esp_dir_name("img-1.0"), ".img-1.0.esp");
}

TEST_F(EspPhaseTest, CopiesFilesDirectoriesModesAndTimes) {
  const fs::file_time_type when = fs::last_write_time(base_ / "src/readme") - std::chrono::hours(48);
  fs::last_write_time(base_ / "src/readme", when);
  const base::UniqueFd esp = open_dir(base_ / "dst");
  const base::UniqueFd src = open_dir(base_ / "src");
  export_fat_tree(src.get(), esp.get(), PartitionSpec{.id = "esp", .mount_point = "/boot/efi"});
  EXPECT_EQ(read(base_ / "dst/esp/EFI/BOOT/BOOTX64.EFI"), "MZ loader");
  EXPECT_EQ(read(base_ / "dst/esp/readme"), "text");
  EXPECT_EQ(fs::status(base_ / "dst/esp/readme").permissions(), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::last_write_time(base_ / "dst/esp/readme"), when);
}

TEST_F(EspPhaseTest, RefusesASymbolicLinkNamingIt) {
  fs::create_symlink("/etc/shadow", base_ / "src/EFI/link");
  const base::UniqueFd dst = open_dir(base_ / "dst");
  const base::UniqueFd src = open_dir(base_ / "src");
  try {
    copy_plain_tree(src.get(), dst.get(), "/boot/efi");
    FAIL() << "a symbolic link was copied";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("'/boot/efi/EFI/link' is a symbolic link"));
  }
}

TEST_F(EspPhaseTest, RefusesAFifo) {
  ASSERT_EQ(::mkfifo((base_ / "src/pipe").c_str(), 0600), 0);
  const base::UniqueFd dst = open_dir(base_ / "dst");
  const base::UniqueFd src = open_dir(base_ / "src");
  EXPECT_THROW(copy_plain_tree(src.get(), dst.get(), "/boot/efi"), base::Error);
}

TEST_F(EspPhaseTest, RefusesAnIdThatIsNoFileName) {
  const base::UniqueFd esp = open_dir(base_ / "dst");
  EXPECT_THROW(export_fat_tree(-1, esp.get(), PartitionSpec{.id = "../x"}), base::Error);
  EXPECT_FALSE(fs::exists(base_ / "x"));
}

TEST_F(EspPhaseTest, FinishWithoutTheCopyNamesThePartition) {
  const PartitionSpec esp{.id = "esp", .fs_type = "vfat"};
  const std::vector<PlacedPartition> placed = {PlacedPartition{.spec = &esp}};
  const base::UniqueFd dir = open_dir(base_ / "dst");
  try {
    make_fat_from_export(placed, dir.get(), FsTarget{});
    FAIL() << "no copy, yet no error";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("partition 'esp': the first run left no copy"));
  }
}

}  // namespace
}  // namespace stage::diskmaker
