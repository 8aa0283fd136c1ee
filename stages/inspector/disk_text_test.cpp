// The inspector's parsers on fixed text, as the programs print it and as
// images hold it, including malformed input.
#include "stages/inspector/disk_text.hpp"
#include "stages/inspector/qcow2.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "stages/inspector/test_disk.hpp"

namespace stage::inspector {
namespace {

TEST(InspectorText, ReadsSfdiskJsonOfAGptDisk) {
  const std::string json = R"({"partitiontable": {"label": "gpt", "id": "0f1e2d3c-0000-4000-8000-000000000001",
    "device": "/dev/fd/3", "unit": "sectors", "firstlba": 2048, "lastlba": 65502, "sectorsize": 512,
    "partitions": [
      {"node": "/dev/fd/3p1", "start": 2048, "size": 20480, "type": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
       "uuid": "aaaaaaaa-0000-4000-8000-000000000001", "name": "esp"},
      {"node": "/dev/fd/3p2", "start": 22528, "size": 40960, "type": "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
       "uuid": "bbbbbbbb-0000-4000-8000-000000000002", "name": "rootfs"}]}})";
  const SfdiskTable t = parse_sfdisk_json(json);
  EXPECT_EQ(t.table, (PartitionTable{"gpt", "0F1E2D3C-0000-4000-8000-000000000001", 512, 2048, 65502}));
  ASSERT_EQ(t.partitions.size(), 2u);
  EXPECT_EQ(t.partitions[1].index, 2u);
  EXPECT_EQ(t.partitions[1].name, "rootfs");
  EXPECT_EQ(t.partitions[1].first_lba, 22528u);
  EXPECT_EQ(t.partitions[1].last_lba, 22528u + 40960u - 1);
  EXPECT_EQ(t.partitions[1].size_bytes, 40960u * 512);
  EXPECT_EQ(t.partitions[1].unique_guid, "BBBBBBBB-0000-4000-8000-000000000002");
}

TEST(InspectorText, RefusesSfdiskJsonThatIsNot) {
  EXPECT_THROW(parse_sfdisk_json("{\"partitiontable\": {\"partitions\": [{\"node\": \"x\"}]}}"), base::Error);
  EXPECT_THROW(parse_sfdisk_json("garbage"), base::Error);
}

TEST(InspectorText, ReadsOsReleaseQuoting) {
  const auto kv = parse_os_release("# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\nX='a b'\nY=\"q\\\"x\"\n\n", "f");
  ASSERT_EQ(kv.size(), 4u);
  EXPECT_EQ(kv[0], (std::pair<std::string, std::string>{"NAME", "Debian GNU/Linux"}));
  EXPECT_EQ(kv[1].second, "debian");
  EXPECT_EQ(kv[2].second, "a b");
  EXPECT_EQ(kv[3].second, "q\"x");
  try {
    parse_os_release("NAME=\"open\n", "/etc/os-release in partition 2");
    FAIL() << "an unterminated quote was accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/etc/os-release in partition 2: line 1"), std::string::npos) << e.what();
  }
}

TEST(InspectorText, ListsOnlyInstalledPackagesOfDpkgStatus) {
  const std::string status =
      "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n"
      "Description: shell\n more text\n\n"
      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n\n"
      "Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n";
  const auto packages = parse_dpkg_status(status, "s");
  ASSERT_EQ(packages.size(), 2u);
  EXPECT_EQ(packages[0], (Package{"bash", "5.2.15-2+b2", "amd64"}));
  EXPECT_EQ(packages[1], (Package{"base-files", "12.4", "amd64"}));
  EXPECT_THROW(parse_dpkg_status("Package bash\n", "s"), base::Error);
}

TEST(InspectorText, ReadsPasswdAndGroupAndNamesABadLine) {
  const auto users = parse_passwd("root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000:,,,:/home/debian:/bin/sh\n", "p");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[1], (User{"debian", 1000, 1000, ",,,", "/home/debian", "/bin/sh"}));
  const auto groups = parse_group("root:x:0:\nsudo:x:27:debian,ops\n", "g");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_TRUE(groups[0].members.empty());
  EXPECT_EQ(groups[1].members, (std::vector<std::string>{"debian", "ops"}));
  try {
    parse_passwd("root:x:0:0:root:/root:/bin/bash\nbad:x:abc:0::/:/bin/sh\n", "/etc/passwd in partition 2");
    FAIL() << "a uid that is not a number was accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/etc/passwd in partition 2: line 2 has the uid 'abc'"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_group("only:three:fields\n", "g"), base::Error);
}

TEST(InspectorText, ReadsDebugfsStatAndSize) {
  const std::string link =
      "Inode: 13   Type: symlink    Mode:  0777   Flags: 0x0\n"
      "User:     0   Group:     0   Project:     0   Size: 21\n"
      "Fast link dest: \"../usr/lib/os-release\"\n";
  const auto stat = parse_debugfs_stat(link);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->type, "symlink");
  EXPECT_EQ(stat->size, 21u);
  EXPECT_EQ(stat->fast_link, "../usr/lib/os-release");
  EXPECT_FALSE(parse_debugfs_stat(""));
  EXPECT_EQ(parse_debugfs_fs_size("Block count:              20480\nBlock size:               1024\n"),
            20480u * 1024);
  EXPECT_FALSE(parse_debugfs_fs_size("Block count: 1\n"));
}

// A boot sector with `sectors` in the 16-bit (small) or 32-bit (big) count.
std::string fat_boot_sector(std::uint32_t bytes_per_sector, std::uint16_t small, std::uint32_t big) {
  std::string sector(512, '\0');
  const auto put = [&](std::size_t at, std::uint32_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) sector[at + static_cast<std::size_t>(i)] = static_cast<char>(value >> (8 * i));
  };
  put(11, bytes_per_sector, 2);
  put(19, small, 2);
  put(32, big, 4);
  put(510, 0xAA55, 2);
  return sector;
}

TEST(InspectorText, ReadsAFatFileSystemsSizeFromItsBootSector) {
  EXPECT_EQ(parse_fat_size(fat_boot_sector(512, 0, 262143)), 262143u * 512);  // FAT32: the big count
  EXPECT_EQ(parse_fat_size(fat_boot_sector(512, 32768, 0)), 32768u * 512);    // FAT16: the small one
  EXPECT_EQ(parse_fat_size(fat_boot_sector(4096, 0, 65536)), 65536u * 4096);
  EXPECT_EQ(parse_fat_size(fat_boot_sector(512, 0, 0xFFFFFFFF)), 0xFFFFFFFFull * 512);  // no 32-bit overflow
  std::string unsigned_sector = fat_boot_sector(512, 0, 262143);
  unsigned_sector[511] = 0;
  EXPECT_FALSE(parse_fat_size(unsigned_sector)) << "no 0x55AA signature";
  EXPECT_FALSE(parse_fat_size(fat_boot_sector(0, 0, 262143)));
  EXPECT_FALSE(parse_fat_size(fat_boot_sector(768, 0, 262143)));
  EXPECT_FALSE(parse_fat_size(fat_boot_sector(8192, 0, 262143)));
  EXPECT_FALSE(parse_fat_size(fat_boot_sector(512, 0, 0)));
  EXPECT_FALSE(parse_fat_size(fat_boot_sector(512, 0, 262143).substr(0, 511)));
}

TEST(InspectorText, ListsTheRegularFilesOfADebugfsListing) {
  const std::string ls = "/12/040755/0/0/.//\n/2/040755/0/0/..//\n/13/100644/0/0/img-1.0.spdx.json/2048/\n"
                         "/14/120777/0/0/link.json/21/\n/15/040755/0/0/sub//\n";
  EXPECT_EQ(parse_debugfs_regular_files(ls), (std::vector<std::string>{"img-1.0.spdx.json"}));
}

TEST(InspectorText, ReadsAUkisSectionsAndRefusesABrokenOne) {
  Uki uki;
  parse_uki(testing::fake_uki("ID=debian\n", "root=/dev/mapper/root roothash=abcd"), "uki", uki);
  EXPECT_EQ(uki.sections, (std::vector<UkiSection>{{".osrel", 10}, {".cmdline", 36}, {".linux", 4096}}));  // with its newline
  EXPECT_EQ(uki.cmdline, "root=/dev/mapper/root roothash=abcd");
  EXPECT_EQ(uki.os_release, "ID=debian\n");
  EXPECT_EQ(uki_kernel_entry(uki).verity_root_hash, "abcd");
  Uki broken;
  EXPECT_THROW(parse_uki("MZ" + std::string(100, '\xff'), "/EFI/Linux/x.efi in partition 1", broken), base::Error);
  EXPECT_THROW(parse_uki("not a PE", "x", broken), base::Error);
  std::string cut = testing::fake_uki("ID=x\n", "root=y");
  cut.resize(0x1f0);  // the section data gone
  EXPECT_THROW(parse_uki(cut, "x", broken), base::Error);
}

TEST(InspectorText, ListsMdirPaths) {
  EXPECT_EQ(parse_mdir("::/EFI/\n::/EFI/BOOT/BOOTX64.EFI\nnoise\n"),
            (std::vector<std::string>{"/EFI/", "/EFI/BOOT/BOOTX64.EFI"}));
}

TEST(InspectorText, ReadsKernelEntriesOfGrubAndBootLoaderEntries) {
  const std::string grub =
      "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=abc ro quiet\n\tinitrd /boot/initrd.img\n}\n"
      "menuentry 'Verity' {\n  linux /vmlinuz root=/dev/mapper/root roothash=00ff\n}\n";
  const auto g = parse_kernel_entries(grub, "/boot/grub/grub.cfg");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0], (KernelEntry{"/boot/grub/grub.cfg", "/boot/vmlinuz-6.1.0-13-amd64", "root=UUID=abc ro quiet", ""}));
  EXPECT_EQ(g[1].verity_root_hash, "00ff");
  const std::string entry =
      "title Debian\nlinux /vmlinuz\noptions root=PARTUUID=x ro\noptions systemd.verity_root_hash=PARTUUID=y roothash=beef\n";
  const auto b = parse_kernel_entries(entry, "/loader/entries/debian.conf");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0], (KernelEntry{"/loader/entries/debian.conf", "/vmlinuz",
                               "root=PARTUUID=x ro systemd.verity_root_hash=PARTUUID=y roothash=beef", "beef"}));
  // systemd.verity_root_hash= names the hash partition: no root hash there.
  EXPECT_EQ(parse_kernel_entries("linux /vmlinuz systemd.verity_root_hash=PARTUUID=y\n", "grub.cfg")[0].verity_root_hash, "");
}

// What `qemu-img info --output=json` and `check --output=json` print, as
// qemu-img 7.2 prints them: a self-contained image passes, everything that
// would make the raw disk depend on another file, or be unbounded, is refused.
std::string qcow2_error(const std::string& info) {
  try {
    checked_qcow2_info(info, "x.qcow2");
  } catch (const base::Error& e) {
    return e.message();
  }
  return "";
}

TEST(Qcow2Info, TakesASelfContainedImageAndRefusesTheRest) {
  const std::string good = R"({"virtual-size": 125829120, "filename": "json:{}", "format": "qcow2", "actual-size": 200704,
    "format-specific": {"type": "qcow2", "data": {"compat": "1.1", "compression-type": "zlib"}}, "dirty-flag": false})";
  EXPECT_EQ(checked_qcow2_info(good, "x.qcow2").virtual_size, 125829120u);
  EXPECT_EQ(qcow2_error(R"({"virtual-size": 67108864, "format": "qcow2", "backing-filename": "/srv/base.qcow2",
    "full-backing-filename": "/srv/base.qcow2", "backing-filename-format": "qcow2"})"),
            "Failed to read the qcow2 image 'x.qcow2': it has a backing file ('/srv/base.qcow2'); only a "
            "self-contained image is read (qemu-img convert -O qcow2 makes one)");
  EXPECT_EQ(qcow2_error(R"({"virtual-size": 67108864, "format": "qcow2", "encrypted": true})"),
            "Failed to read the qcow2 image 'x.qcow2': it is encrypted");
  EXPECT_EQ(qcow2_error(R"({"virtual-size": 67108864, "format": "qcow2",
    "format-specific": {"type": "qcow2", "data": {"data-file": "/srv/data.raw"}}})"),
            "Failed to read the qcow2 image 'x.qcow2': its data is in an external data file");
  EXPECT_EQ(qcow2_error(R"({"virtual-size": 67108864, "format": "raw"})"),
            "Failed to read the qcow2 image 'x.qcow2': qemu-img does not read it as qcow2");
  EXPECT_EQ(qcow2_error(R"({"virtual-size": 5497558138880, "format": "qcow2"})"),
            "Failed to read the qcow2 image 'x.qcow2': its virtual size 5497558138880 is not 512 B..4 TiB in whole sectors");
  EXPECT_EQ(qcow2_error(R"({"virtual-size": 1000, "format": "qcow2"})"),
            "Failed to read the qcow2 image 'x.qcow2': its virtual size 1000 is not 512 B..4 TiB in whole sectors");
  EXPECT_EQ(qcow2_error(R"({"virtual-size": -1, "format": "qcow2"})"),
            "Failed to read the qcow2 image 'x.qcow2': qemu-img info gives no virtual size");
  EXPECT_EQ(qcow2_error("not json"), "Failed to read the qcow2 image 'x.qcow2': qemu-img info did not print a JSON object");
}

TEST(Qcow2Check, RefusesCorruptionsAndErrorsNotLeaks) {
  EXPECT_NO_THROW(check_consistency(R"({"image-end-offset": 6356992, "total-clusters": 1920, "check-errors": 0,
    "filename": "x", "format": "qcow2"})", 0, "x.qcow2"));
  EXPECT_NO_THROW(check_consistency(R"({"leaks": 2, "check-errors": 0, "format": "qcow2"})", 3, "x.qcow2"));
  try {
    check_consistency(R"({"image-end-offset": 65536, "corruptions": 3, "check-errors": 0, "format": "qcow2"})", 2,
                      "cut.qcow2");
    ADD_FAILURE() << "a truncated image passed";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.message(), "Failed to read the qcow2 image 'cut.qcow2': it is truncated or damaged: qemu-img check "
                           "finds 3 corruptions and 0 errors");
  }
  EXPECT_THROW(check_consistency("", 2, "x.qcow2"), base::Error);
}

}  // namespace
}  // namespace stage::inspector
