// mkfs command lines, file system identifiers and the extent copy of swap.
#include "stages/diskmaker/filesystems.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(ExtMkfsArgv, FormatsAtTheOffsetWithTheReferenceFeatures) {
  const PartitionSpec spec{.id = "root", .fs_type = "ext4", .fs_label = "rootfs", .mount_point = "/",
                           .fs_uuid = "9a5c4f3e-1b2c-4d5e-8f90-123456789abc"};
  const PlacedPartition placed{&spec, 2, 71680, 59359};
  EXPECT_THAT(ext_mkfs_argv(placed, "/d/disk", std::string("/src")),
              ElementsAre("mkfs.ext4", "-q", "-F", "-t", "ext4", "-b", "4096", "-O",
                          "none,sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr,has_journal,"
                          "extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize",
                          "-L", "rootfs", "-U", "9a5c4f3e-1b2c-4d5e-8f90-123456789abc", "-E",
                          "offset=36700160,root_owner=0:0", "-d", "/src", "/d/disk", "29679k"));
}

TEST(ExtMkfsArgv, PassesTheHashSeedGivenAndRefusesOneThatIsNoUuid) {
  PartitionSpec spec{.id = "root", .fs_type = "ext4", .fs_uuid = "9a5c4f3e-1b2c-4d5e-8f90-123456789abc",
                     .ext_hash_seed = "0acdf9a2-6651-48da-b842-32d827b01ae3"};
  const auto argv = ext_mkfs_argv({&spec, 1, 2048, 2048}, "disk", std::nullopt);
  EXPECT_EQ(std::count(argv.begin(), argv.end(),
                       "offset=1048576,root_owner=0:0,hash_seed=0acdf9a2-6651-48da-b842-32d827b01ae3"), 1);
  spec.ext_hash_seed = "0acdf9a2,lazy_itable_init=1";
  EXPECT_THROW(ext_mkfs_argv({&spec, 1, 2048, 2048}, "disk", std::nullopt), base::Error);
}

TEST(ExtFeatures, DropsJournalAndExtentsForOlderExtVersions) {
  EXPECT_EQ(ext_features("ext2"), "none,sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr");
  EXPECT_EQ(ext_features("ext3"),
            "none,sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr,has_journal");
}

TEST(ExtMkfsArgv, LeavesOutTheSourceForAnEmptyFileSystem) {
  const PartitionSpec spec{.id = "data", .fs_type = "ext2", .fs_uuid = "9a5c4f3e-1b2c-4d5e-8f90-123456789abc"};
  const auto argv = ext_mkfs_argv({&spec, 1, 2048, 2048}, "disk", std::nullopt);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "-d"), 0);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "-L"), 0);
}

TEST(ExtMkfsArgv, RejectsALabelLongerThanSixteenBytes) {
  const PartitionSpec spec{.id = "root", .fs_type = "ext4", .fs_label = "a-label-of-17-byt",
                           .fs_uuid = "9a5c4f3e-1b2c-4d5e-8f90-123456789abc"};
  EXPECT_THROW(ext_mkfs_argv({&spec, 1, 2048, 2048}, "disk", std::nullopt), base::Error);
}

TEST(VfatMkfsArgv, UsesTheStartSectorAndTheVolumeIdFromTheUuid) {
  const PartitionSpec spec{.id = "esp", .fs_type = "fat32", .fs_label = "esp", .fs_uuid = "1234-abcd"};
  EXPECT_THAT(vfat_mkfs_argv({&spec, 1, 2048, 69632}, "/d/disk"),
              ElementsAre("mkfs.vfat", "--offset=2048", "-h", "2048", "-F", "32", "-s", "1", "-n", "ESP", "-i",
                          "1234ABCD", "/d/disk", "34816"));
}

// mkfs.vfat would size clusters for the whole disk file; a 128 MiB ESP on a
// 2 GiB disk then has too few clusters for FAT32 and mtools cannot read it.
TEST(VfatMkfsArgv, ChoosesAClusterSizeThatGivesAValidFat32) {
  const PartitionSpec spec{.id = "esp", .fs_type = "fat32", .fs_uuid = "1234-abcd"};
  const auto sectors_per_cluster = [&](std::uint64_t sectors) {
    const auto argv = vfat_mkfs_argv({&spec, 1, 2048, sectors}, "/d/disk");
    const auto at = std::find(argv.begin(), argv.end(), "-s");
    return at == argv.end() ? std::string() : *(at + 1);
  };
  EXPECT_EQ(sectors_per_cluster(128 * 2048), "2");
  EXPECT_EQ(sectors_per_cluster(512 * 2048), "8");
  EXPECT_THROW(vfat_mkfs_argv({&spec, 1, 2048, 16 * 2048}, "/d/disk"), base::Error);
}

TEST(VfatMkfsArgv, RejectsALabelLongerThanElevenCharacters) {
  const PartitionSpec spec{.id = "esp", .fs_type = "vfat", .fs_label = "TWELVE-CHARS", .fs_uuid = "12345678"};
  EXPECT_THROW(vfat_mkfs_argv({&spec, 1, 2048, 69632}, "/d/disk"), base::Error);
}

struct UuidCase {
  std::string fs_type;
  std::string given;
  std::string written;  // "" = rejected
};

class WrittenFsUuid : public ::testing::TestWithParam<UuidCase> {};

TEST_P(WrittenFsUuid, IsTheIdentifierTheFileSystemStores) {
  const PartitionSpec spec{.id = "p", .fs_type = GetParam().fs_type, .fs_uuid = GetParam().given};
  if (GetParam().written.empty()) {
    EXPECT_THROW(written_fs_uuid(spec), base::Error);
  } else {
    EXPECT_EQ(written_fs_uuid(spec), GetParam().written);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Uuids, WrittenFsUuid,
    ::testing::Values(UuidCase{"ext4", "9a5c4f3e-1b2c-4d5e-8f90-123456789abc", "9a5c4f3e-1b2c-4d5e-8f90-123456789abc"},
                      UuidCase{"ext4", "1234-ABCD", ""}, UuidCase{"swap", "", ""},
                      UuidCase{"vfat", "1234-abcd", "1234-ABCD"}, UuidCase{"fat32", "deadbeef", "DEAD-BEEF"},
                      UuidCase{"fat16", "9a5c4f3e-1b2c-4d5e-8f90-123456789abc", "9A5C-4F3E"},
                      UuidCase{"vfat", "xyz0-1234", ""}, UuidCase{"vfat", "", ""}));

TEST(McopyArgv, CopiesEveryEntryToTheRootAtTheOffset) {
  const PartitionSpec spec{.id = "esp", .fs_type = "vfat"};
  EXPECT_THAT(mcopy_argv({&spec, 1, 2048, 4096}, "/d/disk", {"/s/EFI", "/s/loader"}),
              ElementsAre("mcopy", "-s", "-p", "-m", "-i", "/d/disk@@1048576", "/s/EFI", "/s/loader", "::/"));
}

TEST(MakeFilesystem, RefusesXfsWithAClearError) {
  const PartitionSpec spec{.id = "data", .fs_type = "xfs", .mount_point = "/data"};
  try {
    make_filesystem({&spec, 1, 2048, 2048}, {});
    FAIL() << "xfs was accepted";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kUnimplemented);
    EXPECT_THAT(e.message(), HasSubstr("xfs file systems are not supported yet: partition 'data'"));
  }
}

base::UniqueFd temp_file(std::string& path) {
  path = (std::filesystem::temp_directory_path() / "diskmaker-extents-XXXXXX").string();
  base::UniqueFd fd(::mkstemp(path.data()));
  EXPECT_TRUE(fd.valid());
  ::unlink(path.c_str());
  return fd;
}

TEST(CopyDataExtents, CopiesDataAtTheOffsetAndLeavesHolesAlone) {
  std::string src_path, dst_path;
  base::UniqueFd src = temp_file(src_path);
  base::UniqueFd dst = temp_file(dst_path);
  ASSERT_EQ(::ftruncate(src.get(), 4 * kMiB), 0);
  ASSERT_EQ(::pwrite(src.get(), "head", 4, 1024), 4);
  ASSERT_EQ(::pwrite(src.get(), "tail", 4, 3 * kMiB), 4);
  ASSERT_EQ(::ftruncate(dst.get(), 8 * kMiB), 0);
  ASSERT_EQ(::pwrite(dst.get(), "keep", 4, 2 * kMiB + 2 * kMiB - 4096), 4);  // inside a hole of src

  copy_data_extents(src.get(), dst.get(), 2 * kMiB, 4 * kMiB);
  char buffer[5] = {};
  ASSERT_EQ(::pread(dst.get(), buffer, 4, 2 * kMiB + 1024), 4);
  EXPECT_STREQ(buffer, "head");
  ASSERT_EQ(::pread(dst.get(), buffer, 4, 5 * kMiB), 4);
  EXPECT_STREQ(buffer, "tail");
  ASSERT_EQ(::pread(dst.get(), buffer, 4, 4 * kMiB - 4096), 4);
  EXPECT_STREQ(buffer, "keep");
}

}  // namespace
}  // namespace stage::diskmaker
