#include "supervisor/build/disk_layout.hpp"

#include <regex>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "supervisor/build/test_partition.hpp"

namespace supervisor {
namespace {

// Deterministic UUIDs: 00000000-0000-4000-8000-00000000000N, N counting up.
UuidSource counting_uuids() {
  auto n = std::make_shared<int>(0);
  return [n](std::string_view) {
    const int k = (*n)++;
    char text[40];
    std::snprintf(text, sizeof text, "%08x-0000-4000-8000-%012x", 0xa0 + k, k + 1);
    return std::string(text);
  };
}

using test_support::partition;

config::Disk default_disk() {
  config::Disk d;
  d.size = "3GiB";
  d.partition_table_type = "gpt";
  d.partitions = {partition("boot", "esp", "1MiB", "257MiB", "fat32", "/boot/efi", "umask=0077", {"esp", "boot"}),
                  partition("rootfs", "linux-root-amd64", "257MiB", "0", "ext4", "/", "defaults")};
  return d;
}

TEST(DiskLayout, TurnsTheDefaultDiskIntoBytesGuidsAndFstab) {
  const DiskLayout layout = plan_disk_layout(default_disk(), counting_uuids());
  EXPECT_TRUE(layout.gpt);
  EXPECT_EQ(layout.disk_size, 3ull << 30);
  ASSERT_EQ(layout.partitions.size(), 2u);
  const PlannedPartition& esp = layout.partitions[0];
  EXPECT_EQ(esp.index, 1u);
  EXPECT_EQ(esp.type, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
  EXPECT_EQ(esp.start, 1ull << 20);
  EXPECT_EQ(esp.end, 257ull << 20);
  EXPECT_EQ(esp.fs_type, "fat32");
  EXPECT_EQ(esp.fs_uuid, "0000-00A0") << "first 8 hex digits: uuid 1 starts 000000a0";
  EXPECT_EQ(esp.part_uuid, "000000a1-0000-4000-8000-000000000002");
  const PlannedPartition& root = layout.partitions[1];
  EXPECT_EQ(root.end, 0u) << "\"0\" is the rest of the disk";
  EXPECT_EQ(root.type, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
  EXPECT_EQ(layout.root_fs_uuid, root.fs_uuid);
  EXPECT_EQ(layout.boot_fs_uuid, "") << "/boot is on the root file system";
  EXPECT_EQ(layout.esp_mount_point, "/boot/efi");
  EXPECT_EQ(layout.esp_fs_uuid, "0000-00A0") << "GRUB finds the ESP by it (Secure Boot)";
  EXPECT_THAT(layout.fstab,
              testing::ElementsAre(FstabLine{"UUID=" + root.fs_uuid, "/", "ext4", "defaults", 0, 1},
                                   FstabLine{"UUID=" + esp.fs_uuid, "/boot/efi", "vfat", "umask=0077", 0, 2}));
}

// index, name, fsLabel and flags go to the disk maker as written, which puts
// them in the table and on the file system (stages/diskmaker: SfdiskScript,
// ExtMkfsArgv, VfatMkfsArgv, TableEntryFor); without them: the position and the id.
TEST(DiskLayout, IndexNameFsLabelAndFlagsAreTheTemplates) {
  config::Disk d = default_disk();
  d.partitions[0].index = 2;
  d.partitions[0].name = "EFI System";
  d.partitions[0].fs_label = "ESP";
  d.partitions[1].index = 1;
  d.partitions[1].fs_label = "root";
  const DiskLayout layout = plan_disk_layout(d, counting_uuids());
  ASSERT_EQ(layout.partitions.size(), 2u);
  EXPECT_EQ(layout.partitions[0].index, 2u);
  EXPECT_EQ(layout.partitions[0].name, "EFI System");
  EXPECT_EQ(layout.partitions[0].fs_label, "ESP");
  EXPECT_EQ(layout.partitions[0].flags, (std::vector<std::string>{"esp", "boot"}));
  EXPECT_EQ(layout.partitions[1].index, 1u);
  EXPECT_EQ(layout.partitions[1].name, "rootfs") << "no name: the id";
  EXPECT_EQ(layout.partitions[1].fs_label, "root");
  EXPECT_TRUE(layout.partitions[1].flags.empty());
  const DiskLayout plain = plan_disk_layout(default_disk(), counting_uuids());
  EXPECT_EQ(plain.partitions[1].index, 2u) << "no index: the position in the list";
  EXPECT_EQ(plain.partitions[1].fs_label, "");
}

TEST(DiskLayout, FatVolumeIdIsTheFirstEightHexDigits) {
  EXPECT_EQ(fat_volume_id("1a2b3c4d-5e6f-4000-8000-000000000000"), "1A2B-3C4D");
}

TEST(DiskLayout, SwapSeparateBootAndMbr) {
  config::Disk d;
  d.size = "8GiB";
  d.partition_table_type = "mbr";
  d.partitions = {partition("boot", "linux", "1MiB", "513MiB", "ext4", "/boot"),
                  partition("swap", "linux-swap", "513MiB", "1537MiB", "swap", "none"),
                  partition("home", "linux", "1537MiB", "2561MiB", "xfs", "/home", "noatime"),
                  partition("root", "linux", "2561MiB", "0", "ext4", "/")};
  const DiskLayout layout = plan_disk_layout(d, counting_uuids());
  EXPECT_FALSE(layout.gpt);
  EXPECT_EQ(layout.partitions[0].type, "83");
  EXPECT_EQ(layout.partitions[1].type, "82");
  for (const auto& p : layout.partitions) EXPECT_EQ(p.part_uuid, "") << "no partition UUIDs in MBR";
  EXPECT_EQ(layout.boot_fs_uuid, layout.partitions[0].fs_uuid);
  EXPECT_EQ(layout.root_fs_uuid, layout.partitions[3].fs_uuid);
  EXPECT_EQ(layout.esp_mount_point, "");
  ASSERT_EQ(layout.fstab.size(), 4u);
  EXPECT_EQ(layout.fstab[0].mount_point, "/");
  EXPECT_EQ(layout.fstab[1].mount_point, "/boot");
  EXPECT_EQ(layout.fstab[2], (FstabLine{"UUID=" + layout.partitions[2].fs_uuid, "/home", "xfs", "noatime", 0, 2}));
  EXPECT_EQ(layout.fstab[3], (FstabLine{"UUID=" + layout.partitions[1].fs_uuid, "none", "swap", "sw", 0, 0}));
}

TEST(DiskLayout, EspFlagMarksTheEspWithoutItsType) {
  config::Disk d = default_disk();
  d.partitions[0].type = "linux";
  d.partitions[0].mount_point = "/efi";
  EXPECT_EQ(plan_disk_layout(d, counting_uuids()).esp_mount_point, "/efi");
}

TEST(DiskLayout, TypeUuidOverridesTheTypeName) {
  config::Disk d = default_disk();
  d.partitions[1].type_uuid = "0fc63daf-8483-4772-8e79-3d69d8477de4";
  EXPECT_EQ(plan_disk_layout(d, counting_uuids()).partitions[1].type, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
}

// The reference's Ubuntu server-cloud disk: `bios-boot` is no name of the
// table; the typeUUID beside it is the partition's type.
TEST(DiskLayout, PlansTheTypeUuidAndNeverReadsTheTypeBesideIt) {
  config::Disk d = default_disk();
  config::Partition bios = partition("BIOSBOOT", "bios-boot", "1MiB", "5MiB", "ext2", "none", "", {"bios_grub"});
  bios.type_uuid = "21686148-6449-6e6f-744e-656564454649";
  d.partitions[0].start = "5MiB";
  d.partitions.insert(d.partitions.begin(), bios);
  const DiskLayout layout = plan_disk_layout(d, counting_uuids());
  EXPECT_EQ(layout.partitions[0].type, "21686148-6449-6E6F-744E-656564454649");
  // An unknown name without a typeUUID still fails, and says how to fix it.
  d.partitions[0].type_uuid.reset();
  try {
    plan_disk_layout(d, counting_uuids());
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("unknown partition type 'bios-boot'"));
    EXPECT_THAT(e.what(), testing::HasSubstr("or set typeUUID, which takes precedence over type"));
  }
}

TEST(DiskLayout, TheEspIsWhatTheTypeUuidSays) {
  config::Disk d = default_disk();
  d.partitions[0].flags.clear();
  d.partitions[0].type = "linux";
  d.partitions[0].type_uuid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
  EXPECT_EQ(plan_disk_layout(d, counting_uuids()).esp_mount_point, "/boot/efi");
  d.partitions[0].type = "esp";
  d.partitions[0].type_uuid = "0fc63daf-8483-4772-8e79-3d69d8477de4";
  EXPECT_EQ(plan_disk_layout(d, counting_uuids()).esp_mount_point, "");
}

TEST(DiskLayout, AnMbrTableTakesTheTypeUuidsByte) {
  config::Disk d = default_disk();
  d.partition_table_type = "mbr";
  d.partitions[1].type = "bios-boot";
  d.partitions[1].type_uuid = "0fc63daf-8483-4772-8e79-3d69d8477de4";
  EXPECT_EQ(plan_disk_layout(d, counting_uuids()).partitions[1].type, "83");
}

struct RejectCase {
  const char* why;
  std::function<void(config::Disk&)> change;
  const char* message;
};

class DiskLayoutRejects : public testing::TestWithParam<RejectCase> {};

TEST_P(DiskLayoutRejects, ADiskTheDiskMakerCannotMake) {
  config::Disk d = default_disk();
  GetParam().change(d);
  try {
    plan_disk_layout(d, counting_uuids());
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_THAT(e.what(), testing::HasSubstr(GetParam().message));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DiskLayoutRejects,
    testing::Values(RejectCase{"unaligned start", [](config::Disk& d) { d.partitions[0].start = "1000KiB"; },
                               "not a multiple of 1 MiB"},
                    RejectCase{"unaligned end", [](config::Disk& d) { d.partitions[0].end = "262145KiB"; },
                               "not a multiple of 1 MiB"},
                    RejectCase{"no root", [](config::Disk& d) { d.partitions[1].mount_point = "/srv"; },
                               "no partition is mounted at /"},
                    RejectCase{"no size", [](config::Disk& d) { d.size.reset(); }, "disk.size is required"},
                    RejectCase{"past the end", [](config::Disk& d) { d.partitions[1].end = "4GiB"; },
                               "past the end of the disk"},
                    RejectCase{"unknown type", [](config::Disk& d) { d.partitions[1].type = "linux-rot"; },
                               "unknown partition type"},
                    RejectCase{"unknown fs", [](config::Disk& d) { d.partitions[1].fs_type = "btrfs"; },
                               "unknown file system 'btrfs'"},
                    RejectCase{"bios on mbr",
                               [](config::Disk& d) {
                                 d.partition_table_type = "mbr";
                                 d.partitions[0].type = "bios";
                               },
                               "only in GPT"}),
    [](const testing::TestParamInfo<RejectCase>& info) {
      std::string name = info.param.why;
      for (char& c : name) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

TEST(RandomUuid, IsAVersion4UuidAndDiffersEachCall) {
  static const std::regex re{"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"};
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) {
    const std::string u = random_uuid();
    EXPECT_TRUE(std::regex_match(u, re)) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 32u);
}

TEST(RandomUuid, FillsEveryPartitionByDefault) {
  const DiskLayout layout = plan_disk_layout(default_disk());
  EXPECT_NE(layout.partitions[0].part_uuid, layout.partitions[1].part_uuid);
  EXPECT_NE(layout.partitions[1].fs_uuid, layout.partitions[1].part_uuid);
}

// The elxr12 default's disk with immutability on: the hash partition gets
// no file system and no fstab line, "/" is mounted read-only.
TEST(DiskLayout, AVerityRootTakesTheHashPartitionAndMountsRootReadOnly) {
  config::Disk disk = default_disk();
  disk.partitions[1].end = "2GiB";
  disk.partitions.push_back(partition("roothashmap", "linux", "2GiB", "2200MiB", "ext4", "none"));
  disk.partitions.push_back(partition("userdata", "linux", "2200MiB", "0", "ext4", "/opt"));
  DiskLayout layout = plan_disk_layout(disk, counting_uuids());
  plan_verity(layout, disk);
  ASSERT_TRUE(layout.verity.has_value());
  EXPECT_EQ(layout.verity->data_id, "rootfs");
  EXPECT_EQ(layout.verity->hash_id, "roothashmap");
  EXPECT_EQ(layout.verity->data_part_uuid, layout.partitions[1].part_uuid);
  EXPECT_EQ(layout.verity->hash_part_uuid, layout.partitions[2].part_uuid);
  EXPECT_EQ(layout.partitions[2].fs_type, "none");
  ASSERT_EQ(layout.fstab.size(), 3u);
  EXPECT_EQ(layout.fstab[0].mount_point, "/");
  EXPECT_EQ(layout.fstab[0].options, "ro");
  for (const FstabLine& line : layout.fstab) EXPECT_NE(line.spec, "UUID=" + layout.partitions[2].fs_uuid);
}

TEST(DiskLayout, AVerityRootWithoutAHashPartitionOrGptIsRefused) {
  config::Disk disk = default_disk();
  DiskLayout layout = plan_disk_layout(disk, counting_uuids());
  try {
    plan_verity(layout, disk);
    ADD_FAILURE() << "no hash partition, accepted";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("no partition for the dm-verity hash tree"));
  }
  disk.partitions[1].end = "2GiB";
  disk.partitions.push_back(partition("roothashmap", "linux", "2GiB", "0", "ext4", "none"));
  disk.partition_table_type = "mbr";
  layout = plan_disk_layout(disk, counting_uuids());
  try {
    plan_verity(layout, disk);
    ADD_FAILURE() << "an MBR disk, accepted";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("needs a GPT partition table"));
  }
}

}  // namespace
}  // namespace supervisor
