// The sfdisk script: header, one line per partition, flags mapped to types
// and attributes.
#include "stages/diskmaker/partition_table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::diskmaker {
namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(SfdiskScript, WritesAGptTableWithUuidsNamesAndAttributes) {
  DiskLayout layout{TableType::kGpt, 64 * kMiB, {}};
  PartitionSpec esp{.id = "esp", .name = "ESP", .start = kMiB, .end = 35 * kMiB, .fs_type = "fat32",
                    .mount_point = "/boot/efi", .flags = {"esp", "legacy_boot"},
                    .part_uuid = "11111111-2222-3333-4444-555555555555"};
  PartitionSpec root{.id = "root", .name = "rootfs", .type = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
                     .start = 35 * kMiB, .fs_type = "ext4", .mount_point = "/",
                     .part_uuid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"};
  layout.partitions = {esp, root};
  EXPECT_EQ(sfdisk_script(layout.table, place_partitions(layout)),
            "label: gpt\nunit: sectors\nsector-size: 512\nfirst-lba: 2048\n\n"
            "p1 : start=2048, size=69632, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, "
            "uuid=11111111-2222-3333-4444-555555555555, name=\"ESP\", attrs=\"LegacyBIOSBootable\"\n"
            "p2 : start=71680, size=59359, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, "
            "uuid=AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE, name=\"rootfs\"\n");
}

TEST(SfdiskScript, WritesTheDiskIdGivenAsLabelId) {
  DiskLayout layout{TableType::kGpt, 64 * kMiB, {PartitionSpec{.id = "root", .start = kMiB, .fs_type = "ext4"}}};
  const std::string id = "0acdf9a2-6651-48da-b842-32d827b01ae3";
  EXPECT_THAT(sfdisk_script(layout.table, place_partitions(layout), id),
              testing::StartsWith("label: gpt\nlabel-id: 0ACDF9A2-6651-48DA-B842-32D827B01AE3\nunit: sectors\n"));
  layout.table = TableType::kMbr;
  EXPECT_THAT(sfdisk_script(layout.table, place_partitions(layout), id),
              testing::StartsWith("label: dos\nlabel-id: 0x0acdf9a2\nunit: sectors\n"));
  EXPECT_THROW(sfdisk_script(layout.table, place_partitions(layout), "0acdf9a2"), base::Error);
}

TEST(SfdiskScript, WritesAnMbrTableWithTheBootableMark) {
  DiskLayout layout{TableType::kMbr, 64 * kMiB, {}};
  layout.partitions = {PartitionSpec{.id = "boot", .index = 1, .type = "0xEF", .start = kMiB, .end = 9 * kMiB,
                                     .fs_type = "vfat", .flags = {"boot"}},
                       PartitionSpec{.id = "root", .index = 3, .start = 9 * kMiB, .fs_type = "ext4"}};
  EXPECT_EQ(sfdisk_script(layout.table, place_partitions(layout)),
            "label: dos\nunit: sectors\nsector-size: 512\n\n"
            "p1 : start=2048, size=16384, type=ef, bootable\n"
            "p3 : start=18432, size=112640, type=83\n");
}

struct FlagCase {
  TableType table;
  std::string type;
  std::string fs_type;
  std::vector<std::string> flags;
  std::string expected_type;
  std::vector<std::string> expected_attrs;
  bool expected_bootable;
};

class TableEntryFor : public ::testing::TestWithParam<FlagCase> {};

TEST_P(TableEntryFor, MapsFlagsAsDocumented) {
  const FlagCase& c = GetParam();
  const PartitionSpec p{.id = "p", .type = c.type, .fs_type = c.fs_type, .flags = c.flags};
  const TableEntry entry = table_entry(c.table, p);
  EXPECT_EQ(entry.type, c.expected_type);
  EXPECT_EQ(entry.attrs, c.expected_attrs);
  EXPECT_EQ(entry.bootable, c.expected_bootable);
}

INSTANTIATE_TEST_SUITE_P(
    Flags, TableEntryFor,
    ::testing::Values(
        FlagCase{TableType::kGpt, "", "fat32", {"esp"}, kGptEspType, {}, false},
        FlagCase{TableType::kGpt, "", "fat32", {"boot"}, kGptEspType, {}, false},
        FlagCase{TableType::kGpt, "", "none", {"bios_grub"}, kGptBiosBootType, {}, false},
        FlagCase{TableType::kGpt, "", "ext4", {"legacy_boot", "hidden"}, "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                 {"LegacyBIOSBootable", "GUID:62"}, false},
        FlagCase{TableType::kGpt, "", "swap", {"grub"}, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", {}, false},
        FlagCase{TableType::kGpt, "", "vfat", {}, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", {}, false},
        FlagCase{TableType::kGpt, "0fc63daf-8483-4772-8e79-3d69d8477de4", "vfat", {"esp"},
                 "0FC63DAF-8483-4772-8E79-3D69D8477DE4", {}, false},
        FlagCase{TableType::kMbr, "", "ext4", {"boot"}, "83", {}, true},
        FlagCase{TableType::kMbr, "", "fat32", {"esp"}, "ef", {}, false},
        FlagCase{TableType::kMbr, "", "fat16", {}, "e", {}, false},
        FlagCase{TableType::kMbr, "", "swap", {}, "82", {}, false},
        FlagCase{TableType::kMbr, "0x0C", "vfat", {}, "0c", {}, false}));

TEST(TableEntry, RejectsATypeThatIsNotAGuidOnGpt) {
  const PartitionSpec p{.id = "data", .type = "linux", .fs_type = "ext4"};
  EXPECT_THROW(
      {
        try {
          table_entry(TableType::kGpt, p);
        } catch (const base::Error& e) {
          EXPECT_THAT(e.message(), HasSubstr("partition 'data': type 'linux' is not a GPT type GUID"));
          throw;
        }
      },
      base::Error);
}

TEST(TableEntry, RejectsATypeThatIsNotAByteOnMbr) {
  EXPECT_THROW(table_entry(TableType::kMbr, PartitionSpec{.id = "x", .type = "123", .fs_type = "ext4"}),
               base::Error);
}

TEST(SfdiskScript, RejectsANameWithAQuote) {
  DiskLayout layout{TableType::kGpt, 64 * kMiB, {PartitionSpec{.id = "x", .name = "a\"b", .start = kMiB}}};
  EXPECT_THROW(sfdisk_script(layout.table, place_partitions(layout)), base::Error);
}

TEST(SfdiskScript, RejectsAPartUuidThatIsNotAUuid) {
  DiskLayout layout{TableType::kGpt, 64 * kMiB, {PartitionSpec{.id = "x", .start = kMiB, .part_uuid = "nope"}}};
  EXPECT_THROW(sfdisk_script(layout.table, place_partitions(layout)), base::Error);
}

}  // namespace
}  // namespace stage::diskmaker
