#include "live/gpt_grow.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "live/command.hpp"
#include "tests/support/temp_dir.hpp"

namespace live {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

// A file-backed disk with a GPT made by sfdisk: an ESP and a root partition
// (or, with `root_last` false, the root first and a third partition after it).
struct GptFile {
  tests::TempDir dir{"oic-live-gpt"};
  std::filesystem::path path = dir.path() / "disk.img";

  explicit GptFile(const std::string& script) {
    std::filesystem::resize_file(dir.write("disk.img", ""), 8 * kMiB);
    const auto made = run_command({"sfdisk", "--no-reread", "--no-tell-kernel", path.string()}, script);
    if (made.exit_code != 0) throw std::runtime_error("sfdisk failed: " + made.output);
  }
  nlohmann::json table() const {
    // Output merges stderr, where sfdisk warns about a table that does not fit the file.
    const std::string out = run_command({"sfdisk", "--json", path.string()}).output;
    return nlohmann::json::parse(out.substr(std::min(out.find('{'), out.size())))["partitiontable"];
  }
  std::string verify() const { return run_command({"sfdisk", "--verify", path.string()}).output; }
  GrownPartition grow_to(std::uint64_t bytes, unsigned partition) const {
    std::filesystem::resize_file(path, bytes);
    base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    return grow_gpt_partition(fd.get(), bytes, partition, path.string());
  }
};

const std::string kTwoPartitions =
    "label: gpt\n"
    "start=2048, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\n"
    "start=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=6E1D4C2A-3B5F-4E8A-9C1D-2F3A4B5C6D7E, name=rootfs, attrs=LegacyBIOSBootable\n";

TEST(LiveGptGrow, MovesTheBackupHeaderAndGrowsTheRootPartition) {
  GptFile disk(kTwoPartitions);
  const nlohmann::json before = disk.table();
  const GrownPartition grown = disk.grow_to(32 * kMiB, 2);
  const nlohmann::json after = disk.table();
  const std::uint64_t sectors = 32 * kMiB / 512;
  EXPECT_EQ(after["lastlba"].get<std::uint64_t>(), sectors - 34);
  const auto& root = after["partitions"][1];
  EXPECT_EQ(root["start"], 4096);
  EXPECT_EQ(root["start"].get<std::uint64_t>() + root["size"].get<std::uint64_t>(), sectors - 33);
  EXPECT_EQ(grown.new_last_lba, sectors - 34);
  EXPECT_EQ(grown.old_last_lba, before["partitions"][1]["start"].get<std::uint64_t>() +
                                    before["partitions"][1]["size"].get<std::uint64_t>() - 1);
  for (const char* kept : {"type", "uuid", "name", "attrs"}) EXPECT_EQ(root[kept], before["partitions"][1][kept]) << kept;
  EXPECT_EQ(after["partitions"][0], before["partitions"][0]);
  EXPECT_EQ(after["id"], before["id"]);
  // The backup header is in the disk's last sector, and sfdisk finds nothing wrong.
  std::string last(8, '\0');
  base::UniqueFd fd(::open(disk.path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(::pread(fd.get(), last.data(), 8, static_cast<off_t>(32 * kMiB - 512)), 8);
  EXPECT_EQ(last, "EFI PART");
  EXPECT_EQ(disk.verify().find("backup"), std::string::npos) << disk.verify();
  EXPECT_EQ(disk.verify().find("PMBR size mismatch"), std::string::npos) << disk.verify();  // the MBR covers the disk
  EXPECT_NE(disk.verify().find("No errors detected"), std::string::npos) << disk.verify();
}

TEST(LiveGptGrow, AGrownFileWithoutItHasItsBackupHeaderMisplaced) {
  // What the test above shows is the growth's doing: a grown file alone fails sfdisk's check.
  GptFile disk(kTwoPartitions);
  std::filesystem::resize_file(disk.path, 32 * kMiB);
  EXPECT_EQ(disk.verify().find("No errors detected"), std::string::npos) << disk.verify();
}

TEST(LiveGptGrow, RefusesToGrowAPartitionOthersFollow) {
  GptFile disk("label: gpt\nstart=2048, size=2048, name=esp\nstart=4096, size=4096, name=rootfs\nstart=8192, name=data\n");
  try {
    disk.grow_to(32 * kMiB, 2);
    FAIL() << "grew a partition that another follows";
  } catch (const base::Error& error) {
    EXPECT_NE(error.message().find("partition 2 of disk " + disk.path.string() +
                                   " is not the last partition on the disk (partition 3 follows it)"),
              std::string::npos) << error.message();
  }
  EXPECT_EQ(disk.table()["partitions"][1]["size"], 4096);
}

TEST(LiveGptGrow, RefusesAMissingPartitionAndABrokenTable) {
  GptFile disk(kTwoPartitions);
  EXPECT_THROW(disk.grow_to(32 * kMiB, 3), base::Error);
  base::UniqueFd fd(::open(disk.path.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_EQ(::pwrite(fd.get(), "\x01", 1, 512 + 40), 1);  // first usable LBA: the header CRC no longer holds
  try {
    grow_gpt_partition(fd.get(), 32 * kMiB, 2, "d");
    FAIL() << "accepted a header with a wrong CRC";
  } catch (const base::Error& error) {
    EXPECT_EQ(error.message(), "disk d: the primary GPT header's CRC32 is wrong");
  }
}

TEST(LiveGptGrow, ADiskOfTheImageSizeOnlyGrowsThePartitionToTheLastUsableSector) {
  GptFile disk(kTwoPartitions);
  nlohmann::json expected = disk.table();
  const std::uint64_t last = expected["lastlba"];
  expected["partitions"][1]["size"] = last - 4096 + 1;
  disk.grow_to(8 * kMiB, 2);
  EXPECT_EQ(disk.table(), expected);
  EXPECT_NE(disk.verify().find("No errors detected"), std::string::npos) << disk.verify();
}

}  // namespace
}  // namespace live
