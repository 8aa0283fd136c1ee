// compare's diff on reports made by hand: each kind of difference is found
// in its section with its fields, volatile ones (GUIDs, UUIDs) do not make
// images different, and the four classes of equality.
#include "supervisor/cli/image_diff.hpp"

#include <gtest/gtest.h>

namespace supervisor::cli {
namespace {

namespace inspector = stage::inspector;

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

inspector::Report sample() {
  inspector::Report r;
  r.table = {"gpt", "DISK-A", 512, 34, 65502};
  r.partitions = {{1, "esp", "C12A", "PART-1", 2048, 22527, 20480 * 512, "vfat", "ESP", "1234-ABCD", 0},
                  {2, "rootfs", "4F68", "PART-2", 22528, 63487, 40960ULL * 512, "ext4", "root", "uuid-a", 20971520}};
  r.root_partition = 2;
  r.os_release = {{"ID", "debian"}, {"VERSION_ID", "12"}};
  r.packages = {{"bash", "5.2.15-2+b2", "amd64"}, {"base-files", "12.4+deb12u5", "amd64"}};
  r.users = {{"root", 0, 0, "root", "/root", "/bin/bash"}};
  r.groups = {{"sudo", 27, {"debian"}}};
  r.boot_configs = {{2, "/boot/grub/grub.cfg", "linux /vmlinuz ro\n"}};
  r.kernel_entries = {{"/boot/grub/grub.cfg", "/vmlinuz", "ro", ""}};
  r.sbom_path = "/usr/share/sbom/img.spdx.json";
  r.files = {{1, "/EFI", "directory", 0, 0, 0, 0, "", ""},
             {2, "/", "directory", 0755, 0, 0, 0, "", ""},
             {2, "/etc/hostname", "regular", 0644, 0, 0, 7, kHashA, ""},
             {2, "/etc/os-release", "symlink", 0777, 0, 0, 21, "", "../usr/lib/os-release"}};
  return r;
}

std::vector<Change> in_section(const std::vector<Change>& all, const std::string& section) {
  std::vector<Change> out;
  for (const Change& c : all) {
    if (c.section == section) out.push_back(c);
  }
  return out;
}

TEST(ImageDiff, TheSameReportHasNoDifference) {
  const auto changes = diff_reports(sample(), sample());
  EXPECT_TRUE(changes.empty());
  EXPECT_EQ(classify(changes, std::nullopt), Equality::kSemanticallyIdenticalUnverified);
  EXPECT_EQ(classify(changes, false), Equality::kSemanticallyIdentical);
  EXPECT_EQ(classify(changes, true), Equality::kBinaryIdentical);
}

TEST(ImageDiff, OneFileWhoseContentChangedIsTheOnlyDifference) {
  inspector::Report b = sample();
  b.files[2].sha256 = kHashB;
  b.files[2].size = 8;
  const auto changes = diff_reports(sample(), b);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].section, "files (partition 2 rootfs)");
  EXPECT_EQ(changes[0].item, "/etc/hostname");
  EXPECT_EQ(changes[0].kind, "changed");
  ASSERT_EQ(changes[0].fields.size(), 2u);
  EXPECT_EQ(changes[0].fields[0].field, "size");
  EXPECT_EQ(changes[0].fields[0].from, "7");
  EXPECT_EQ(changes[0].fields[0].to, "8");
  EXPECT_EQ(changes[0].fields[1].field, "sha256");
  EXPECT_EQ(changes[0].fields[1].to, kHashB);
  EXPECT_EQ(classify(changes, std::nullopt), Equality::kDifferent);
  EXPECT_EQ(classify(changes, false), Equality::kDifferent);
}

TEST(ImageDiff, FileModeOwnerTypeAndLinkTargetAreCompared) {
  inspector::Report b = sample();
  b.files[1].mode = 0700;
  b.files[1].uid = 1000;
  b.files[3].link_target = "/usr/lib/os-release";
  b.files.push_back({2, "/etc/new", "fifo", 0600, 0, 0, 0, "", ""});
  b.files.erase(b.files.begin());  // /EFI of partition 1
  const auto changes = diff_reports(sample(), b);
  const auto root = in_section(changes, "files (partition 2 rootfs)");
  ASSERT_EQ(root.size(), 3u);
  EXPECT_EQ(root[0].item, "/");
  EXPECT_EQ(root[0].fields[0].field, "mode");
  EXPECT_EQ(root[0].fields[0].from, "0755");
  EXPECT_EQ(root[0].fields[0].to, "0700");
  EXPECT_EQ(root[0].fields[1].field, "owner");
  EXPECT_EQ(root[0].fields[1].to, "1000:0");
  EXPECT_EQ(root[1].item, "/etc/new");
  EXPECT_EQ(root[1].kind, "added");
  EXPECT_EQ(root[1].fields[0].to, "fifo");
  EXPECT_EQ(root[2].item, "/etc/os-release");
  EXPECT_EQ(root[2].fields[0].field, "link target");
  const auto esp = in_section(changes, "files (partition 1 esp)");
  ASSERT_EQ(esp.size(), 1u);
  EXPECT_EQ(esp[0].item, "/EFI");
  EXPECT_EQ(esp[0].kind, "removed");
}

TEST(ImageDiff, PackagesAddedRemovedAndChanged) {
  inspector::Report b = sample();
  b.packages = {{"bash", "5.2.15-3", "amd64"}, {"curl", "7.88.1-10", "amd64"}};
  const auto changes = in_section(diff_reports(sample(), b), "packages");
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].item, "base-files:amd64");
  EXPECT_EQ(changes[0].kind, "removed");
  EXPECT_EQ(changes[0].fields[0].from, "12.4+deb12u5");
  EXPECT_EQ(changes[1].item, "bash:amd64");
  EXPECT_EQ(changes[1].kind, "changed");
  EXPECT_EQ(changes[1].fields[0].from, "5.2.15-2+b2");
  EXPECT_EQ(changes[1].fields[0].to, "5.2.15-3");
  EXPECT_EQ(changes[2].item, "curl:amd64");
  EXPECT_EQ(changes[2].kind, "added");
}

TEST(ImageDiff, GuidsAndUuidsAloneAreVolatile) {
  inspector::Report b = sample();
  b.table.id = "DISK-B";
  b.partitions[1].unique_guid = "PART-X";
  b.partitions[1].fs_uuid = "uuid-b";
  const auto changes = diff_reports(sample(), b);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].section, "partition table");
  EXPECT_TRUE(changes[0].volatile_only);
  EXPECT_EQ(changes[1].section, "partitions");
  EXPECT_EQ(changes[1].item, "rootfs (4F68)");
  EXPECT_EQ(changes[1].fields.size(), 2u);
  EXPECT_TRUE(changes[1].volatile_only);
  EXPECT_EQ(classify(changes, std::nullopt), Equality::kSemanticallyIdenticalUnverified);
  EXPECT_EQ(classify(changes, false), Equality::kSemanticallyIdentical);
  b.partitions[1].fs_label = "other";
  const auto meaningful = diff_reports(sample(), b);
  EXPECT_FALSE(meaningful[1].volatile_only);
  EXPECT_EQ(classify(meaningful, false), Equality::kDifferent);
}

TEST(ImageDiff, PartitionsAreMatchedByNameAndTypeNotIndex) {
  inspector::Report b = sample();
  std::swap(b.partitions[0], b.partitions[1]);
  b.partitions[0].index = 1;
  b.partitions[1].index = 2;
  for (auto& f : b.files) f.partition = f.partition == 1 ? 2 : 1;
  const auto changes = diff_reports(sample(), b);
  ASSERT_EQ(changes.size(), 2u);  // each partition's index changed, nothing else; files matched by partition
  EXPECT_EQ(changes[0].fields[0].field, "index");
  EXPECT_EQ(changes[1].fields[0].field, "index");
}

TEST(ImageDiff, BootConfigurationKernelsAndSbom) {
  inspector::Report b = sample();
  b.boot_configs[0].text = "linux /vmlinuz ro quiet\n";
  b.kernel_entries[0].options = "ro quiet";
  b.sbom_path.clear();
  const auto changes = diff_reports(sample(), b);
  const auto configs = in_section(changes, "boot configuration");
  ASSERT_EQ(configs.size(), 1u);
  EXPECT_EQ(configs[0].item, "partition 2 /boot/grub/grub.cfg");
  ASSERT_EQ(configs[0].fields.size(), 3u);  // size, sha256 and the line that changed
  EXPECT_EQ(configs[0].fields[2].field, "line");
  EXPECT_EQ(configs[0].fields[2].from, "linux /vmlinuz ro");
  EXPECT_EQ(configs[0].fields[2].to, "linux /vmlinuz ro quiet");
  const auto kernels = in_section(changes, "kernels");
  ASSERT_EQ(kernels.size(), 1u);
  EXPECT_EQ(kernels[0].fields[0].from, "ro");
  EXPECT_EQ(kernels[0].fields[0].to, "ro quiet");
  ASSERT_EQ(in_section(changes, "SBOM").size(), 1u);
}

TEST(ImageDiff, PartitionBytesAreVolatileWhereTheFilesWereCompared) {
  inspector::Report b = sample();
  b.partitions.push_back({3, "swap", "0657FD6D", "PART-3", 63488, 65501, 2014 * 512, "swap", "", "", 0});
  inspector::Report a = sample();
  a.partitions.push_back(b.partitions.back());
  const PartitionHashes ha = {{1, kHashA}, {2, kHashA}, {3, kHashA}};
  const PartitionHashes hb = {{1, kHashA}, {2, kHashB}, {3, kHashB}};
  const auto changes = diff_partition_bytes(a, ha, b, hb);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].section, "partition bytes");
  EXPECT_EQ(changes[0].item, "rootfs (4F68)");
  EXPECT_EQ(changes[0].fields[0].to, kHashB);
  EXPECT_TRUE(changes[0].volatile_only) << "ext4: its files were compared";
  EXPECT_EQ(changes[1].item, "swap (0657FD6D)");
  EXPECT_FALSE(changes[1].volatile_only) << "swap: nothing else shows its bytes";
  EXPECT_EQ(classify({changes[0]}, false), Equality::kSemanticallyIdentical);
  EXPECT_EQ(classify(changes, false), Equality::kDifferent);
}

TEST(ImageDiff, ABootConfigurationsLinesThatWentAndCameArePaired) {
  inspector::Report a = sample();
  a.boot_configs[0].text = "set timeout=5\nlinux /vmlinuz root=UUID=a ro\nboot\nboot\n";
  inspector::Report b = a;
  b.boot_configs[0].text = "set timeout=5\nlinux /vmlinuz root=UUID=b ro\nboot\ninitrd /initrd.img\n";
  const auto configs = in_section(diff_reports(a, b), "boot configuration");
  ASSERT_EQ(configs.size(), 1u);
  ASSERT_EQ(configs[0].fields.size(), 4u);
  EXPECT_EQ(configs[0].fields[2].from, "linux /vmlinuz root=UUID=a ro");
  EXPECT_EQ(configs[0].fields[2].to, "linux /vmlinuz root=UUID=b ro");
  EXPECT_EQ(configs[0].fields[3].from, "boot") << "the second of two";
  EXPECT_EQ(configs[0].fields[3].to, "initrd /initrd.img");
  std::string many_a, many_b;
  for (int i = 0; i < 20; ++i) many_a += "a" + std::to_string(i) + "\n", many_b += "b" + std::to_string(i) + "\n";
  a.boot_configs[0].text = many_a;
  b.boot_configs[0].text = many_b;
  const auto many = in_section(diff_reports(a, b), "boot configuration");
  ASSERT_EQ(many[0].fields.size(), 1u + 16u + 1u);  // the same size: sha256, 16 lines, how many more
  EXPECT_EQ(many[0].fields.back().field, "more lines");
  EXPECT_EQ(many[0].fields.back().to, "4");
}

TEST(ImageDiff, SpdxPackageSets) {
  const PackageVersions a = {{"bash", {"5.2"}}, {"zlib", {"1.2"}}};
  const PackageVersions b = {{"bash", {"5.3"}}, {"curl", {"8.0"}}};
  const auto changes = diff_packages(a, b);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].item, "bash");
  EXPECT_EQ(changes[0].kind, "changed");
  EXPECT_EQ(changes[1].item, "curl");
  EXPECT_EQ(changes[1].kind, "added");
  EXPECT_EQ(changes[2].item, "zlib");
  EXPECT_EQ(changes[2].kind, "removed");
  const auto counts = count_by_section(changes);
  EXPECT_EQ(counts.at("packages"), (SectionCounts{1, 1, 1}));
}

}  // namespace
}  // namespace supervisor::cli
