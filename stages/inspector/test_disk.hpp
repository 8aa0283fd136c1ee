// Disks made by hand for the inspector's tests, in seconds and without a
// mirror: a GPT with fixed GUIDs, an ESP (FAT) and an ext4 root made from a
// tree the test fills (mkfs.ext4 -d keeps symbolic links and holes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/run_program.hpp"

namespace stage::inspector::testing {

namespace fs = std::filesystem;

inline constexpr const char* kDiskGuid = "0F1E2D3C-0000-4000-8000-000000000001";
inline constexpr const char* kEspGuid = "AAAAAAAA-0000-4000-8000-000000000001";
inline constexpr const char* kRootGuid = "BBBBBBBB-0000-4000-8000-000000000002";
inline constexpr const char* kRootFsUuid = "3f0c4c8e-8a44-4c7d-9d0e-2a7b5d4c1e6f";
inline constexpr std::uint64_t kMiB = 1024 * 1024;
inline constexpr std::uint64_t kRootOffset = 17 * kMiB;
inline constexpr std::uint64_t kDiskSize = 120 * kMiB;

inline void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

inline void run_ok(const std::vector<std::string>& argv, const fs::path& scratch, const fs::path& input = "/dev/null") {
  const auto r = tests::support::run_program(argv, {{"PATH", "/usr/sbin:/usr/bin"}, {"LC_ALL", "C"}}, scratch, input);
  if (r.exit_code != 0) throw std::runtime_error(argv[0] + " failed: " + r.out + r.err);
}

// A root tree like a small Debian system's: os-release as a relative link
// into /usr/lib, dpkg's status with one removed package, users and groups.
inline void fill_debian_tree(const fs::path& tree) {
  write_file(tree / "usr/lib/os-release",
             "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
             "ID=debian\n");
  fs::create_directories(tree / "etc");
  fs::create_symlink("../usr/lib/os-release", tree / "etc/os-release");
  write_file(tree / "var/lib/dpkg/status",
             "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\n"
             "Package: removed\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1.0\n\n"
             "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u5\n");
  write_file(tree / "etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndebian:x:1000:1000:,,,:/home/debian:/bin/bash\n");
  write_file(tree / "etc/group", "root:x:0:\nsudo:x:27:debian\ndebian:x:1000:\n");
  write_file(tree / "usr/share/sbom/img-1.0.spdx.json", "{\"spdxVersion\": \"SPDX-2.3\", \"packages\": []}\n");
  write_file(tree / "boot/grub/grub.cfg",
             "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=3f0c4c8e ro quiet\n}\n");
}

// A PE image with the sections a UKI has (.osrel, .cmdline, .linux), their
// contents `osrel`, `cmdline` and 4 KiB of zeroes: enough for the reader,
// which only walks the section table.
inline std::string fake_uki(const std::string& osrel, const std::string& cmdline) {
  std::string pe(0x200, '\0');
  const auto put = [&](std::size_t at, std::uint32_t value, int size) {
    for (int i = 0; i < size; ++i) pe[at + static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
  };
  pe[0] = 'M';
  pe[1] = 'Z';
  put(0x3c, 0x40, 4);
  pe.replace(0x40, 4, std::string("PE\0\0", 4));
  put(0x40 + 6, 3, 2);  // sections
  put(0x40 + 20, 0, 2);  // no optional header
  const std::vector<std::pair<std::string, std::string>> sections = {
      {".osrel", osrel}, {".cmdline", cmdline + "\n"}, {".linux", std::string(4096, '\0')}};
  std::size_t data = pe.size();
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const std::size_t entry = 0x40 + 24 + i * 40;
    pe.replace(entry, sections[i].first.size(), sections[i].first);
    put(entry + 8, static_cast<std::uint32_t>(sections[i].second.size()), 4);
    put(entry + 16, static_cast<std::uint32_t>(sections[i].second.size()), 4);
    put(entry + 20, static_cast<std::uint32_t>(data), 4);
    data += sections[i].second.size();
  }
  for (const auto& section : sections) pe += section.second;
  return pe;
}

// The ESP's files (dir/esp): a boot loader, a Boot Loader Specification
// entry and a UKI, both command lines with a dm-verity root hash.
inline void fill_esp(const fs::path& esp) {
  write_file(esp / "EFI/BOOT/BOOTX64.EFI", "MZ not really a PE file");
  write_file(esp / "loader/entries/debian.conf",
             "title Debian\nlinux /vmlinuz\noptions root=/dev/mapper/root roothash=00ff ro\n");
  write_file(esp / "EFI/Linux/debian.efi", fake_uki("ID=debian\n", "root=/dev/mapper/root roothash=abcd ro"));
}

// dir/disk.raw from dir/tree (the root) and, when it exists, dir/esp (the ESP's files).
inline fs::path make_disk(const fs::path& dir) {
  const fs::path disk = dir / "disk.raw";
  const fs::path scratch = dir / "scratch";
  { std::ofstream(disk).close(); }
  fs::resize_file(disk, kDiskSize);
  write_file(dir / "table.sfdisk", std::string("label: gpt\nlabel-id: ") + kDiskGuid +
                                       "\nstart=2048, size=32768, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=" +
                                       kEspGuid + ", name=esp\nstart=34816, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, "
                                       "uuid=" + kRootGuid + ", name=rootfs\n");
  run_ok({"/usr/sbin/sfdisk", "-q", disk.string()}, scratch, dir / "table.sfdisk");
  const std::uint64_t root_kib = (kDiskSize - kRootOffset) / 1024 - 64;  // the backup GPT stays
  run_ok({"/usr/sbin/mkfs.ext4", "-q", "-F", "-L", "root", "-U", kRootFsUuid, "-d", (dir / "tree").string(), "-E",
          "offset=" + std::to_string(kRootOffset), disk.string(), std::to_string(root_kib) + "k"},
         scratch);
  run_ok({"/usr/sbin/mkfs.vfat", "--offset", "2048", "-n", "ESP", "-i", "1234ABCD", disk.string(), "16384"}, scratch);
  if (fs::exists(dir / "esp")) {
    for (const auto& entry : fs::directory_iterator(dir / "esp")) {
      run_ok({"/usr/bin/mcopy", "-s", "-i", disk.string() + "@@1048576", entry.path().string(), "::/"}, scratch);
    }
  }
  return disk;
}

// An installer medium as the isomaker lays it out: GRUB's configuration,
// an EFI loader, the kernel, the manifest and the lockfile it names.
inline fs::path make_iso(const fs::path& dir, const std::string& manifest,
                         const std::string& kernel_options = "console=ttyS0 quiet") {
  const fs::path tree = dir / "iso-tree";
  write_file(tree / "boot/grub/grub.cfg", "menuentry 'Install' {\n\tlinux /images/vmlinuz " + kernel_options +
                                              "\n\tinitrd /images/initrd.img\n}\n");
  write_file(tree / "EFI/BOOT/BOOTX64.EFI", "MZ not really a loader");
  write_file(tree / "images/vmlinuz", "kernel");
  write_file(tree / "install/manifest.json", manifest);
  write_file(tree / "config/oic-1.0.0.lock.json",
             R"({"format": 1, "packages": [{"name": "zlib1g", "version": "1:1.2.13", "architecture": "amd64"},)"
             R"( {"name": "bash", "version": "5.2.15", "architecture": "amd64"}]})");
  fs::create_symlink("images/vmlinuz", tree / "vmlinuz");
  const fs::path iso = dir / "medium.iso";
  run_ok({"/usr/bin/xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "OIC_TEST_ISO", "-o", iso.string(), tree.string()},
         dir / "scratch");
  return iso;
}

inline constexpr const char* kIsoManifest = R"({"lockfile": {"path": "config/oic-1.0.0.lock.json", "sha256": "00"}})";

}  // namespace stage::inspector::testing
