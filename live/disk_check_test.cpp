#include "live/disk_check.hpp"

#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include "base/error.hpp"
#include "live/disks.hpp"
#include "tests/support/temp_dir.hpp"

namespace live {
namespace {

std::string refusal(const std::string& path, std::uint64_t raw_size, const tests::TempDir& sys) {
  try {
    check_target_disk(path, raw_size, std::nullopt, sys.path());
  } catch (const base::Error& error) {
    return error.message();
  }
  return "(accepted)";
}

TEST(LiveDiskCheck, RefusesAMissingDisk) {
  tests::TempDir sys;
  EXPECT_EQ(refusal("/dev/oic-no-such-disk", 4096, sys), "disk /dev/oic-no-such-disk does not exist");
}

TEST(LiveDiskCheck, RefusesAFileThatIsNotABlockDevice) {
  tests::TempDir dir, sys;
  const auto file = dir.write("disk.img", std::string(1 << 20, '\0'));
  EXPECT_EQ(refusal(file.string(), 4096, sys), "disk " + file.string() + " is not a block device");
}

DiskFacts block_disk(std::uint64_t size) {
  DiskFacts facts;
  facts.path = "/dev/vdb";
  facts.exists = facts.is_block = true;
  facts.disk_name = "vdb";
  facts.size = size;
  return facts;
}

TEST(LiveDiskCheck, RefusesADiskSmallerThanTheImage) {
  const auto why = disk_refusal(block_disk(1 << 20), 4 << 20, std::nullopt);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "disk /dev/vdb has 1048576 bytes (1.0 MiB); the image needs 4194304 (4.0 MiB)");
  EXPECT_FALSE(disk_refusal(block_disk(4 << 20), 4 << 20, std::nullopt));
}

TEST(LiveDiskCheck, RefusesTheMediumAndPartitions) {
  EXPECT_EQ(disk_refusal(block_disk(8 << 20), 4 << 20, std::string("vdb")).value_or(""),
            "disk /dev/vdb holds the install medium");
  DiskFacts partition = block_disk(8 << 20);
  partition.is_partition = true;
  EXPECT_EQ(disk_refusal(partition, 4 << 20, std::nullopt).value_or(""),
            "disk /dev/vdb is a partition; name the whole disk");
}

TEST(LiveDiskCheck, NamesPartitionDevices) {
  EXPECT_EQ(partition_device("/dev/vda", 2), "/dev/vda2");
  EXPECT_EQ(partition_device("/dev/sdb", 1), "/dev/sdb1");
  EXPECT_EQ(partition_device("/dev/nvme0n1", 2), "/dev/nvme0n1p2");
  EXPECT_EQ(partition_device("/dev/mmcblk0", 3), "/dev/mmcblk0p3");
}

// A /sys/block as the kernel lays it out, for the disks listed.
void fake_disk(const tests::TempDir& sys, const std::string& name, const std::string& dev, const std::string& sectors,
               const std::string& model = {}) {
  sys.write("block/" + name + "/dev", dev + "\n");
  sys.write("block/" + name + "/size", sectors + "\n");
  if (!model.empty()) sys.write("block/" + name + "/device/model", model + "    \n");
}

TEST(LiveDisks, ListsInstallableDisksOnly) {
  tests::TempDir sys;
  fake_disk(sys, "vda", "254:0", "41943040", "QEMU HARDDISK");
  fake_disk(sys, "sdb", "8:16", "2048");
  fake_disk(sys, "loop0", "7:0", "2048");
  fake_disk(sys, "sr0", "11:0", "2048");
  fake_disk(sys, "ram0", "1:0", "2048");
  fake_disk(sys, "vdc", "254:32", "0");
  const auto disks = installable_disks(sys.path() / "block", "sdb");
  ASSERT_EQ(disks.size(), 1u);
  EXPECT_EQ(disks[0].name, "vda");
  EXPECT_EQ(disks[0].size, 41943040ull * 512);
  EXPECT_EQ(disks[0].model, "QEMU HARDDISK");
}

TEST(LiveDisks, FindsTheDiskHoldingAPartition) {
  tests::TempDir sys;
  fake_disk(sys, "vda", "254:0", "2048");
  fake_disk(sys, "sdb", "8:16", "2048");
  sys.write("block/sdb/sdb1/dev", "8:17\n");
  sys.write("block/sdb/sdb1/partition", "1\n");
  EXPECT_EQ(disk_holding(makedev(8, 17), sys.path() / "block").value_or(""), "sdb");
  EXPECT_EQ(disk_holding(makedev(254, 0), sys.path() / "block").value_or(""), "vda");
  EXPECT_FALSE(disk_holding(makedev(9, 9), sys.path() / "block"));
}

}  // namespace
}  // namespace live
