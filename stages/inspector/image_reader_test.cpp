// The reader on disks made by hand (test_disk.hpp), outside any sandbox:
// what it reports is what sfdisk, mkfs and the tree put there; hostile
// trees and tables give errors naming what and where.
#include "stages/inspector/image_reader.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/inspector/test_disk.hpp"
#include "stages/inspector/test_rpmdb.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::inspector {
namespace {

using namespace stage::inspector::testing;

base::UniqueFd open_ro(const fs::path& path) { return base::UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)); }

std::string error_of(const fs::path& disk) {
  try {
    read_image(open_ro(disk).get(), "disk.raw");
  } catch (const base::Error& e) {
    return e.what();
  }
  return "(no error)";
}

class ImageReader : public ::testing::Test {
 protected:
  tests::TempDir dir_{"oic-inspect"};
  fs::path tree() const { return dir_.path() / "tree"; }
};

TEST_F(ImageReader, ReportsTheTableFileSystemsAndRoot) {
  fill_debian_tree(tree());
  fill_esp(dir_.path() / "esp");
  const fs::path disk = make_disk(dir_.path());
  const Report r = read_image(open_ro(disk).get(), "disk.raw", {}, {.extract_sbom = true});
  EXPECT_EQ(r.table.label, "gpt");
  EXPECT_EQ(r.sbom_path, "/usr/share/sbom/img-1.0.spdx.json");
  EXPECT_EQ(r.sbom, "{\"spdxVersion\": \"SPDX-2.3\", \"packages\": []}\n");
  EXPECT_TRUE(read_image(open_ro(disk).get(), "disk.raw").sbom.empty());  // only when asked
  EXPECT_EQ(r.table.id, kDiskGuid);
  ASSERT_EQ(r.partitions.size(), 2u);
  const Partition& esp = r.partitions[0];
  EXPECT_EQ(esp.index, 1u);
  EXPECT_EQ(esp.name, "esp");
  EXPECT_EQ(esp.type_guid, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
  EXPECT_EQ(esp.unique_guid, kEspGuid);
  EXPECT_EQ(esp.first_lba, 2048u);
  EXPECT_EQ(esp.last_lba, 2048u + 32768u - 1);
  EXPECT_EQ(esp.size_bytes, 16 * kMiB);
  EXPECT_EQ(esp.fs_type, "vfat");
  EXPECT_EQ(esp.fs_label, "ESP");
  EXPECT_EQ(esp.fs_uuid, "1234-ABCD");
  EXPECT_EQ(esp.fs_size_bytes, 16 * kMiB);  // mkfs.vfat's 16384 blocks of 1 KiB
  const Partition& root = r.partitions[1];
  EXPECT_EQ(root.unique_guid, kRootGuid);
  EXPECT_EQ(root.fs_type, "ext4");
  EXPECT_EQ(root.fs_label, "root");
  EXPECT_EQ(root.fs_uuid, kRootFsUuid);
  EXPECT_EQ(root.fs_size_bytes, ((kDiskSize - kRootOffset) / 1024 - 64) * 1024);
  EXPECT_EQ(r.root_partition, 2u);
  ASSERT_EQ(r.os_release.size(), 4u);  // through the relative link into /usr/lib
  EXPECT_EQ(r.os_release[2], (std::pair<std::string, std::string>{"VERSION_ID", "12"}));
  EXPECT_EQ(r.packages, (std::vector<Package>{{"bash", "5.2.15-2+b2", "amd64"}, {"base-files", "12.4+deb12u5", "amd64"}}));
  ASSERT_EQ(r.users.size(), 2u);
  EXPECT_EQ(r.users[1], (User{"debian", 1000, 1000, ",,,", "/home/debian", "/bin/bash"}));
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(r.groups[1], (Group{"sudo", 27, {"debian"}}));
  EXPECT_EQ(r.boot_files, (std::vector<BootFile>{{1, "/EFI/BOOT/BOOTX64.EFI"}, {1, "/EFI/Linux/debian.efi"}}));
  ASSERT_EQ(r.ukis.size(), 1u);
  EXPECT_EQ(r.ukis[0].cmdline, "root=/dev/mapper/root roothash=abcd ro");
  EXPECT_EQ(r.ukis[0].os_release, "ID=debian\n");
  EXPECT_EQ(r.ukis[0].sections.size(), 3u);
  ASSERT_EQ(r.boot_configs.size(), 2u);
  EXPECT_EQ(r.boot_configs[0].path, "/loader/entries/debian.conf");
  EXPECT_EQ(r.boot_configs[1].partition, 2u);
  EXPECT_EQ(r.boot_configs[1].path, "/boot/grub/grub.cfg");
  EXPECT_EQ(r.kernel_entries,
            (std::vector<KernelEntry>{
                {"/EFI/Linux/debian.efi", "/EFI/Linux/debian.efi", "root=/dev/mapper/root roothash=abcd ro", "abcd"},
                {"/loader/entries/debian.conf", "/vmlinuz", "root=/dev/mapper/root roothash=00ff ro", "00ff"},
                {"/boot/grub/grub.cfg", "/boot/vmlinuz-6.1.0-13-amd64", "root=UUID=3f0c4c8e ro quiet", ""}}));
}

// Links that climb out of the root or are absolute stay in the image's file
// system: ".." of its root is its root.
TEST_F(ImageReader, FollowsLinksInsideTheImageOnly) {
  fill_debian_tree(tree());
  fs::remove(tree() / "etc/os-release");
  fs::create_symlink("../../../../../../../inside/os-release", tree() / "etc/os-release");
  write_file(tree() / "inside/os-release", "ID=inside\n");
  fs::remove(tree() / "etc/passwd");
  fs::create_symlink("/etc/../../etc/passwd-real", tree() / "etc/passwd");
  write_file(tree() / "etc/passwd-real", "only:x:7:7::/:/bin/sh\n");
  const Report r = read_image(open_ro(make_disk(dir_.path())).get(), "disk.raw");
  EXPECT_EQ(r.os_release, (std::vector<std::pair<std::string, std::string>>{{"ID", "inside"}}));
  ASSERT_EQ(r.users.size(), 1u);
  EXPECT_EQ(r.users[0].name, "only");
}

TEST_F(ImageReader, TwoSbomsAreNamedRatherThanOneChosen) {
  fill_debian_tree(tree());
  write_file(tree() / "usr/share/sbom/other.json", "{}");
  const std::string error = error_of(make_disk(dir_.path()));
  EXPECT_NE(error.find("/usr/share/sbom holds 2 JSON files (/usr/share/sbom/img-1.0.spdx.json, /usr/share/sbom/other.json)"),
            std::string::npos)
      << error;
}

TEST_F(ImageReader, ALinkLoopIsAnError) {
  fill_debian_tree(tree());
  fs::remove(tree() / "etc/os-release");
  fs::create_symlink("os-release", tree() / "etc/os-release");
  const std::string error = error_of(make_disk(dir_.path()));
  EXPECT_NE(error.find("/etc/os-release in partition 2 of 'disk.raw': more than 40 symbolic links"),
            std::string::npos)
      << error;
}

TEST_F(ImageReader, AFileLargerThanItReadsIsAnError) {
  fill_debian_tree(tree());
  {
    std::ofstream status(tree() / "var/lib/dpkg/status", std::ios::trunc);
  }
  fs::resize_file(tree() / "var/lib/dpkg/status", kMaxFileBytes + 1);  // a hole: mkfs keeps it sparse
  const std::string error = error_of(make_disk(dir_.path()));
  EXPECT_NE(error.find("/var/lib/dpkg/status in partition 2 of 'disk.raw': it holds 67108865 bytes, more than"),
            std::string::npos)
      << error;
}

TEST_F(ImageReader, AGarbageTableIsAnError) {
  const fs::path disk = dir_.path() / "garbage.raw";
  std::string bytes(1 * kMiB, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919 + 13) % 251);
  write_file(disk, bytes);
  const std::string error = error_of(disk);
  EXPECT_NE(error.find("Failed to read a partition table in 'disk.raw': sfdisk"), std::string::npos) << error;
}

// A truncated download: sfdisk no longer reads the GPT and falls back to the
// protective MBR, which must not pass for the image's table.
TEST_F(ImageReader, APartitionPastTheEndIsAnError) {
  fill_debian_tree(tree());
  const fs::path disk = make_disk(dir_.path());
  fs::resize_file(disk, 40 * kMiB);
  const std::string error = error_of(disk);
  EXPECT_NE(error.find("Failed to read the GPT of 'disk.raw': sfdisk found only its protective MBR (partition type "
                       "ee): GPT PMBR size mismatch"),
            std::string::npos)
      << error;
}

// An RPM system's packages come from its rpm database (SQLite) inside, also
// when it carries a dpkg status too.
TEST_F(ImageReader, ListsThePackagesOfAnRpmDatabase) {
  fill_debian_tree(tree());
  write_file(tree() / "var/lib/rpm/rpmdb.sqlite", make_probe_rpmdb(dir_.path() / "rpm"));
  const std::vector<Package> probe = {{"oic-probe", "2:1.5-3", "noarch"}};
  EXPECT_EQ(read_image(open_ro(make_disk(dir_.path())).get(), "disk.raw").packages, probe) << "with a dpkg status";
  fs::remove_all(tree() / "var/lib/dpkg");
  EXPECT_EQ(read_image(open_ro(make_disk(dir_.path())).get(), "disk.raw").packages, probe);
}

TEST_F(ImageReader, AnRpmDatabaseItCannotReadIsNamed) {
  fill_debian_tree(tree());
  fs::remove_all(tree() / "var/lib/dpkg");
  write_file(tree() / "var/lib/rpm/rpmdb.sqlite", "SQLite format 3");
  std::string error = error_of(make_disk(dir_.path()));
  EXPECT_NE(error.find("Failed to read the rpm database '/var/lib/rpm/rpmdb.sqlite' in partition 2 of 'disk.raw': "
                       "it is not an SQLite database"),
            std::string::npos)
      << error;

  fs::remove(tree() / "var/lib/rpm/rpmdb.sqlite");
  write_file(tree() / "var/lib/rpm/Packages", "berkeley");
  error = error_of(make_disk(dir_.path()));
  EXPECT_NE(error.find("its rpm database in /var/lib/rpm is Berkeley DB or NDB"), std::string::npos) << error;

  fs::remove(tree() / "var/lib/rpm/Packages");
  write_file(tree() / "var/lib/rpm/rpmdb.sqlite", make_probe_rpmdb(dir_.path() / "rpm2"));
  write_file(tree() / "var/lib/rpm/rpmdb.sqlite-wal", "unmerged");
  error = error_of(make_disk(dir_.path()));
  EXPECT_NE(error.find("has a write-ahead log ('/var/lib/rpm/rpmdb.sqlite-wal') that was never merged"),
            std::string::npos)
      << error;
}

}  // namespace
}  // namespace stage::inspector
