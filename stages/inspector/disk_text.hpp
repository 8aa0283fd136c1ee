// Parsers of what the inspector's programs print and of the files it reads
// out of an image. Their input is untrusted: a malformed line is an error
// naming the file and line (`where`), never a guess.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stages/inspector/report.hpp"

namespace stage::inspector {

// `sfdisk --json DISK`: the table and its partitions (file system fields empty).
struct SfdiskTable {
  PartitionTable table;
  std::vector<Partition> partitions;
};
SfdiskTable parse_sfdisk_json(const std::string& json);

// KEY=VALUE lines (blkid -o export); other lines are skipped.
std::vector<std::pair<std::string, std::string>> parse_key_values(const std::string& text);

// os-release(5): KEY=VALUE with shell-like quoting; comments and blank lines skipped.
std::vector<std::pair<std::string, std::string>> parse_os_release(const std::string& text, const std::string& where);

// dpkg's status file: the packages whose Status is "install ok installed", in file order.
std::vector<Package> parse_dpkg_status(const std::string& text, const std::string& where);

std::vector<User> parse_passwd(const std::string& text, const std::string& where);
std::vector<Group> parse_group(const std::string& text, const std::string& where);

// debugfs `stat PATH`: the inode's type word ("regular", "directory",
// "symlink", ...), size and a fast symlink's target.
struct DebugfsStat {
  std::string type;
  std::uint64_t size = 0;
  std::optional<std::string> fast_link;
};
std::optional<DebugfsStat> parse_debugfs_stat(const std::string& text);

// debugfs `stats -h`: block count times block size; nullopt when absent.
std::optional<std::uint64_t> parse_debugfs_fs_size(const std::string& text);

// A FAT12/16/32 boot sector's size of the file system: its total sectors
// (the 16-bit count, else the 32-bit one) times its bytes per sector;
// nullopt when `sector` is shorter than 512 bytes, lacks the 0x55AA
// signature, or its bytes per sector or count make no sense.
std::optional<std::uint64_t> parse_fat_size(std::string_view sector);

// debugfs `ls -p DIR`: the names of its regular files, in listing order.
std::vector<std::string> parse_debugfs_regular_files(const std::string& text);

// A PE/COFF image's sections (a UKI's .linux, .initrd, .cmdline, .osrel,
// ...): `uki.sections`, `cmdline` and `os_release` filled from `bytes`.
// Every offset is checked against the file; a file that is no PE image is
// an error naming `where`.
void parse_uki(const std::string& bytes, const std::string& where, Uki& uki);

// The kernel a UKI carries: its path, its .cmdline and a dm-verity root hash on it.
KernelEntry uki_kernel_entry(const Uki& uki);

// `mdir -/ -b` lines ("::/EFI/BOOT/BOOTX64.EFI"; directories end in '/'):
// the paths, without the drive.
std::vector<std::string> parse_mdir(const std::string& text);

// The kernels a boot configuration names: GRUB's `linux PATH ARGS` lines, or,
// for a path under /loader/entries/, the Boot Loader Specification entry's
// `linux` and `options`; with the
// dm-verity root hash on the command line (roothash=).
std::vector<KernelEntry> parse_kernel_entries(const std::string& text, const std::string& config);

}  // namespace stage::inspector
