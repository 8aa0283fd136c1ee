#include <gtest/gtest.h>

#include "config/validate.hpp"

namespace config {
namespace {

Partition part(std::string id, std::string start, std::string end, std::string mount = "") {
  Partition p;
  p.id = std::move(id);
  p.type = "linux";
  p.fs_type = "ext4";
  p.start = std::move(start);
  p.end = std::move(end);
  if (!mount.empty()) p.mount_point = std::move(mount);
  return p;
}

Partition esp() {
  Partition p = part("boot", "1MiB", "513MiB", "/boot/efi");
  p.type = "esp";
  p.fs_type = "fat32";
  return p;
}

ImageTemplate with_disk(std::vector<Partition> partitions, std::string size = "4GiB") {
  ImageTemplate t;
  t.source = "t.yml";
  t.disk = Disk{};
  t.disk->name = "d";
  t.disk->size = std::move(size);
  t.disk->partitions = std::move(partitions);
  return t;
}

// All messages, one per line, for substring checks.
std::string issues_of(const ImageTemplate& t) {
  std::string out;
  for (const Issue& i : check_partitions(t)) out += format_issue(i) + "\n";
  return out;
}

TEST(PartitionChecks, AcceptsTheReferenceLayout) {
  EXPECT_EQ(issues_of(with_disk({esp(), part("rootfs", "513MiB", "2561MiB", "/"),
                                 part("roothashmap", "2561MiB", "3061MiB", "none"),
                                 part("userdata", "3061MiB", "0", "/opt")})), "");
}

TEST(PartitionChecks, RejectsAnUnparsableStart) {
  EXPECT_NE(issues_of(with_disk({esp(), part("r", "lots", "0")})).find("disk.partitions[1].start: invalid size"),
            std::string::npos);
}

TEST(PartitionChecks, RejectsAnEndNotAfterItsStart) {
  EXPECT_NE(issues_of(with_disk({part("r", "1GiB", "1GiB")})).find("disk.partitions[0].end: must be greater than start"),
            std::string::npos);
}

TEST(PartitionChecks, RejectsOverlappingPartitions) {
  EXPECT_NE(issues_of(with_disk({esp(), part("r", "512MiB", "0", "/")})).find("overlaps disk.partitions[0]"),
            std::string::npos);
}

TEST(PartitionChecks, RejectsPartitionsOutOfOrder) {
  EXPECT_NE(issues_of(with_disk({part("r", "1GiB", "2GiB", "/"), esp()})).find("partitions must be in order"),
            std::string::npos);
}

TEST(PartitionChecks, AllowsRestOfDiskOnlyOnTheLastPartition) {
  EXPECT_NE(issues_of(with_disk({part("a", "1MiB", "0", "/a"), part("b", "1GiB", "2GiB", "/b")}))
                .find("disk.partitions[0].end: \"0\" (rest of the disk) is only allowed on the last partition"),
            std::string::npos);
}

TEST(PartitionChecks, RejectsPartitionsBeyondTheDisk) {
  EXPECT_NE(issues_of(with_disk({esp(), part("r", "513MiB", "2GiB", "/")}, "1GiB")).find("ends beyond the disk"),
            std::string::npos);
  EXPECT_NE(issues_of(with_disk({esp(), part("r", "2GiB", "0", "/")}, "1GiB")).find("starts beyond the disk"),
            std::string::npos);
}

TEST(PartitionChecks, RequiresAnEspForEfiRawImages) {
  ImageTemplate t = with_disk({part("r", "1MiB", "0", "/")});
  t.target = Target{"debian", "debian12", "x86_64", "raw"};
  t.system_config = SystemConfig{};
  t.system_config->bootloader = Bootloader{"efi", "grub"};
  EXPECT_NE(issues_of(t).find("no partition has type esp or flag esp"), std::string::npos);
  // A flag is enough, and an iso does not need one.
  t.disk->partitions[0].flags = {"esp"};
  EXPECT_EQ(issues_of(t), "");
  t.disk->partitions[0].flags.clear();
  t.target->image_type = "iso";
  EXPECT_EQ(issues_of(t), "");
}

TEST(PartitionChecks, RejectsAMountPointUsedTwice) {
  EXPECT_NE(issues_of(with_disk({part("a", "1MiB", "1GiB", "/"), part("b", "1GiB", "0", "/")}))
                .find("disk.partitions[1].mountPoint: \"/\" is mounted twice"),
            std::string::npos);
}

TEST(PartitionChecks, AllowsManyUnmountedPartitions) {
  EXPECT_EQ(issues_of(with_disk({part("a", "1MiB", "1GiB", "none"), part("b", "1GiB", "0", "none")})), "");
}

TEST(PartitionChecks, RejectsDuplicateIds) {
  EXPECT_NE(issues_of(with_disk({part("a", "1MiB", "1GiB"), part("a", "1GiB", "0")})).find("duplicate partition id"),
            std::string::npos);
}

TEST(PartitionChecks, RejectsUnknownTypeNamesButAcceptsATypeUuid) {
  ImageTemplate t = with_disk({part("a", "1MiB", "0")});
  t.disk->partitions[0].type = "linux-root-x86";
  EXPECT_NE(issues_of(t).find("is not a known partition type"), std::string::npos);
  t.disk->partitions[0].type.reset();
  t.disk->partitions[0].type_uuid = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
  EXPECT_EQ(issues_of(t), "");
  t.disk->partitions[0].type_uuid = "4f68bce3-e8cd";
  EXPECT_NE(issues_of(t).find("is not a UUID"), std::string::npos);
}

// The reference's Ubuntu server-cloud layout: `bios-boot` is no name of the
// table, but the typeUUID beside it is what the partition table gets.
ImageTemplate server_cloud_layout() {
  Partition bios = part("BIOSBOOT", "1MiB", "5MiB", "none");
  bios.type = "bios-boot";
  bios.type_uuid = "21686148-6449-6e6f-744e-656564454649";
  bios.fs_type = "ext2";
  bios.flags = {"bios_grub"};
  Partition efi = part("EFI", "5MiB", "116MiB", "/boot/efi");
  efi.type = "esp";
  efi.fs_type = "vfat";
  Partition boot = part("BOOT", "116MiB", "1073MiB", "/boot");
  boot.type_uuid = "bc13c2ff-59e6-4262-a352-b275fd6f7172";
  ImageTemplate t = with_disk({bios, efi, boot, part("rootfs", "1073MiB", "0", "/")}, "4GiB");
  t.target = Target{"ubuntu", "ubuntu24", "x86_64", "raw"};
  t.system_config = SystemConfig{};
  t.system_config->bootloader = Bootloader{"efi", "grub"};
  return t;
}

TEST(PartitionChecks, ReadsTypeOnlyWithoutATypeUuid) {
  ImageTemplate t = server_cloud_layout();
  EXPECT_EQ(issues_of(t), "");
  // Without its typeUUID the same name is an error whose hint names the way out.
  t.disk->partitions[0].type_uuid.reset();
  EXPECT_NE(issues_of(t).find("disk.partitions[0].type: \"bios-boot\" is not a known partition type"),
            std::string::npos) << issues_of(t);
  EXPECT_NE(issues_of(t).find("or set typeUUID, which takes precedence over type"), std::string::npos);
}

TEST(PartitionChecks, TakesTheEspFromTheTypeUuidOverTheTypeName) {
  ImageTemplate t = server_cloud_layout();
  t.disk->partitions[1].type = "linux";
  t.disk->partitions[1].type_uuid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
  EXPECT_EQ(issues_of(t), "");
  // A typeUUID that is not the ESP's wins over `type: esp`.
  t.disk->partitions[1].type = "esp";
  t.disk->partitions[1].type_uuid = "0fc63daf-8483-4772-8e79-3d69d8477de4";
  EXPECT_NE(issues_of(t).find("no partition has type esp or flag esp"), std::string::npos);
}

TEST(PartitionChecks, RejectsUnknownFileSystems) {
  ImageTemplate t = with_disk({part("a", "1MiB", "0")});
  t.disk->partitions[0].fs_type = "zfs";
  EXPECT_NE(issues_of(t).find("disk.partitions[0].fsType: \"zfs\" is not a known file system"), std::string::npos);
}

TEST(PartitionChecks, LimitsMbrToFourPrimaries) {
  ImageTemplate t = with_disk({part("a", "1MiB", "1GiB"), part("b", "1GiB", "2GiB"), part("c", "2GiB", "3GiB"),
                               part("d", "3GiB", "3500MiB"), part("e", "3500MiB", "0")});
  EXPECT_EQ(issues_of(t), "");
  t.disk->partition_table_type = "mbr";
  EXPECT_NE(issues_of(t).find("at most 4 primary partitions; found 5"), std::string::npos);
}

// The diskmaker's file size limit (RLIMIT_FSIZE) covers the largest disk.
TEST(PartitionChecks, LimitsTheDiskToWhatTheDiskmakerMayWrite) {
  EXPECT_EQ(issues_of(with_disk({part("a", "1MiB", "0")}, "4TiB")), "");
  EXPECT_NE(issues_of(with_disk({part("a", "1MiB", "0")}, "5TiB")).find("disk.size: at most 4TiB"),
            std::string::npos);
}

TEST(PartitionChecks, PointsAtTheLineOfTheBadKey) {
  ImageTemplate t = with_disk({part("a", "1MiB", "0"), part("b", "1GiB", "0")});
  t.marks["disk.partitions[0].end"] = Mark{"t.yml", 12, 12};
  EXPECT_NE(issues_of(t).find("t.yml:12:12: disk.partitions[0].end:"), std::string::npos) << issues_of(t);
}

}  // namespace
}  // namespace config
