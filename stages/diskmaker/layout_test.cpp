// Checking and placing partitions: every rejection names the partition.
#include "stages/diskmaker/layout.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::diskmaker {
namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1024 * 1024;

PartitionSpec part(std::string id, std::uint64_t start_mib, std::uint64_t end_mib, std::string fs = "ext4",
                   std::string mount = "") {
  PartitionSpec p;
  p.id = std::move(id);
  p.start = start_mib * kMiB;
  p.end = end_mib * kMiB;
  p.fs_type = std::move(fs);
  p.mount_point = std::move(mount);
  return p;
}

DiskLayout gpt_disk(std::vector<PartitionSpec> partitions, std::uint64_t size_mib = 64) {
  return {TableType::kGpt, size_mib * kMiB, std::move(partitions)};
}

TEST(LastUsableSector, LeavesTheBackupGptAtTheEndOfAGptDisk) {
  // 64 MiB = 131072 sectors; the backup header is the last, its entries the 32 before.
  EXPECT_EQ(last_usable_sector(TableType::kGpt, 64 * kMiB), 131038u);
  EXPECT_EQ(last_usable_sector(TableType::kMbr, 64 * kMiB), 131071u);
}

TEST(PlacePartitions, RunsEndZeroToTheLastUsableSector) {
  const DiskLayout layout = gpt_disk({part("esp", 1, 35, "fat32", "/boot/efi"), part("root", 35, 0, "ext4", "/")});
  const auto placed = place_partitions(layout);
  ASSERT_EQ(placed.size(), 2u);
  EXPECT_EQ(placed[0].start_sector, 2048u);
  EXPECT_EQ(placed[0].size_sectors, 34 * 2048u);
  EXPECT_EQ(placed[1].start_sector, 35 * 2048u);
  EXPECT_EQ(placed[1].start_sector + placed[1].size_sectors - 1, 131038u);
  EXPECT_EQ(placed[1].offset_bytes(), 35 * kMiB);
}

TEST(PlacePartitions, NumbersZeroIndexesWithTheSmallestFreeNumber) {
  DiskLayout layout = gpt_disk({part("a", 1, 2), part("b", 2, 3), part("c", 3, 4)});
  layout.partitions[0].index = 2;
  const auto placed = place_partitions(layout);
  EXPECT_EQ(placed[0].number, 2u);
  EXPECT_EQ(placed[1].number, 1u);
  EXPECT_EQ(placed[2].number, 3u);
}

struct Rejection {
  const char* why;
  DiskLayout layout;
  const char* message;
};

class PlacePartitionsRejects : public ::testing::TestWithParam<Rejection> {};

TEST_P(PlacePartitionsRejects, WithAMessageNamingThePartition) {
  try {
    place_partitions(GetParam().layout);
    FAIL() << "accepted: " << GetParam().why;
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(e.message(), HasSubstr(GetParam().message)) << GetParam().why;
  }
}

std::vector<PartitionSpec> five_mbr_partitions() {
  std::vector<PartitionSpec> parts;
  for (int i = 0; i < 5; ++i) parts.push_back(part("p" + std::to_string(i), 1 + i, 2 + i));
  return parts;
}

std::vector<PartitionSpec> with_index(std::vector<PartitionSpec> parts, std::size_t which, std::uint32_t index) {
  parts[which].index = index;
  return parts;
}

std::vector<PartitionSpec> with_start(std::vector<PartitionSpec> parts, std::uint64_t bytes) {
  parts[0].start = bytes;
  return parts;
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, PlacePartitionsRejects,
    ::testing::Values(
        Rejection{"overlap", gpt_disk({part("a", 1, 10), part("b", 9, 20)}), "partition 'b': it starts at 9 MiB, inside partition 'a'"},
        Rejection{"unsorted", gpt_disk({part("a", 10, 20), part("b", 1, 5)}), "partition 'b'"},
        Rejection{"beyond the end", gpt_disk({part("a", 1, 128)}), "partition 'a': it ends at 128 MiB, beyond the last usable byte"},
        Rejection{"over the backup GPT", gpt_disk({part("a", 1, 64)}), "the backup GPT takes the last 33 sectors"},
        Rejection{"starts beyond the end", gpt_disk({part("a", 70, 0)}), "partition 'a': it starts at 70 MiB, beyond the end"},
        Rejection{"unaligned start", gpt_disk(with_start({part("a", 1, 10)}, kMiB + 512)), "partition 'a': start 1049088 is not aligned"},
        Rejection{"start 0", gpt_disk({part("a", 0, 10)}), "partition 'a': it starts at 0"},
        Rejection{"end before start", gpt_disk({part("a", 10, 5)}), "partition 'a': end 5 MiB is not after start"},
        Rejection{"five MBR partitions", DiskLayout{TableType::kMbr, 64 * kMiB, five_mbr_partitions()}, "at most 4 primary"},
        Rejection{"MBR index 5", DiskLayout{TableType::kMbr, 64 * kMiB, with_index({part("a", 1, 2)}, 0, 5)}, "partition 'a': index 5 is above"},
        Rejection{"index twice", gpt_disk(with_index(with_index({part("a", 1, 2), part("b", 2, 3)}, 0, 1), 1, 1)), "partition 'b': index 1 is used twice"},
        Rejection{"id twice", gpt_disk({part("a", 1, 2), part("a", 2, 3)}), "partition 'a': the id is used twice"},
        Rejection{"unknown fs", gpt_disk({part("a", 1, 2, "btrfs")}), "partition 'a': unknown fsType 'btrfs'"},
        Rejection{"relative mount point", gpt_disk({part("a", 1, 2, "ext4", "boot")}), "partition 'a': mountPoint 'boot' is not an absolute path"},
        Rejection{"dotdot mount point", gpt_disk({part("a", 1, 2, "ext4", "/boot/../etc")}), "not a normalised path"},
        Rejection{"mount point twice", gpt_disk({part("a", 1, 2, "ext4", "/"), part("b", 2, 3, "ext4", "/")}), "partition 'b': mountPoint '/' is used twice"},
        Rejection{"mounted swap", gpt_disk({part("a", 1, 2, "swap", "/swap")}), "needs a file system"},
        Rejection{"odd disk size", DiskLayout{TableType::kGpt, 64 * kMiB + 3, {part("a", 1, 2)}}, "not a positive multiple of 512"},
        Rejection{"no partitions", gpt_disk({}), "it has no partitions"}));

TEST(MovedOutOrder, PutsTheDeepestMountPointFirstAndLeavesOutRoot) {
  const DiskLayout layout = gpt_disk({part("esp", 1, 2, "vfat", "/boot/efi"), part("boot", 2, 3, "ext4", "/boot"),
                                      part("root", 3, 4, "ext4", "/"), part("swap", 4, 5, "swap", "none"),
                                      part("var", 5, 6, "ext4", "/var")});
  std::vector<std::string> ids;
  for (const PartitionSpec* p : moved_out_order(layout)) ids.push_back(p->id);
  EXPECT_EQ(ids, (std::vector<std::string>{"esp", "var", "boot"}));
}

TEST(FsKind, NamesEveryAcceptedSpelling) {
  EXPECT_EQ(fs_kind("", "x"), FsKind::kNone);
  EXPECT_EQ(fs_kind("none", "x"), FsKind::kNone);
  EXPECT_EQ(fs_kind("ext3", "x"), FsKind::kExt);
  EXPECT_EQ(fs_kind("fat16", "x"), FsKind::kVfat);
  EXPECT_EQ(fs_kind("linux-swap", "x"), FsKind::kSwap);
  EXPECT_EQ(fs_kind("xfs", "x"), FsKind::kXfs);
}

}  // namespace
}  // namespace stage::diskmaker
