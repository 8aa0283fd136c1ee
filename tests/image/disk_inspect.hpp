// Reading a finished disk image from outside, with the host's own tools and
// no privileges: the partition table (sfdisk --json), file systems at their
// offsets (blkid -p -O), ext4 contents (debugfs on 'IMG?offset=N'), FAT
// contents (mtools on 'IMG@@N'). Parsers are separate from the runners so
// they can be tested on fixed text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/live/live_support.hpp"

namespace tests::image {

using tests::live::RunResult;

// Absolute path of a host program in /usr/bin, /usr/sbin, /bin or /sbin;
// empty when it is not installed.
std::filesystem::path host_tool(std::string_view name);

using tests::live::run_program;

// Runs host tool argv[0] (looked up with host_tool) with LC_ALL=C and a
// minimal PATH; output goes through files in `scratch`.
RunResult run_tool(std::vector<std::string> argv, const std::filesystem::path& scratch,
                   const std::filesystem::path& input = "/dev/null");

struct Partition {
  int number = 0;
  std::uint64_t offset = 0;  // bytes
  std::uint64_t size = 0;    // bytes
  std::string type;          // GPT type GUID (upper case) or MBR type
  std::string uuid;          // GPT partition UUID
  std::string name;          // GPT partition name
};

// Parses `sfdisk --json DISK`.
std::vector<Partition> parse_sfdisk_json(const std::string& json);
std::vector<Partition> read_partition_table(const std::filesystem::path& disk,
                                            const std::filesystem::path& scratch);

// KEY=VALUE lines (blkid -o export).
std::map<std::string, std::string> parse_key_values(const std::string& text);

struct FsProbe {
  std::string type;  // "ext4", "vfat", ...
  std::string uuid;  // as /etc/fstab names it: lower-case UUID, or XXXX-XXXX for FAT
  std::string label;
};

// `blkid -p -O OFFSET -o export DISK`: the file system at that offset.
FsProbe probe_filesystem(const std::filesystem::path& disk, std::uint64_t offset,
                         const std::filesystem::path& scratch);

struct InodeInfo {
  std::uint32_t mode = 0;  // with the file type bits (0100644, 040755, ...)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;

  std::uint32_t permissions() const { return mode & 07777; }
  bool is_dir() const { return (mode & 0170000) == 0040000; }
  bool is_regular() const { return (mode & 0170000) == 0100000; }
  bool operator==(const InodeInfo&) const = default;
};

// Parses the output of debugfs `stat PATH` (mode, owner, size);
// nullopt when it has no inode block (the path was not found).
std::optional<InodeInfo> parse_debugfs_stat(const std::string& text);

struct ListedEntry {
  std::uint64_t inode = 0;
  InodeInfo info;
};

// Parses the output of a debugfs `-f` run of `ls -p DIR` commands: each
// listing follows its echoed "debugfs: ls -p DIR" line. Returns DIR -> entry
// name -> entry, without "." and "..".
std::map<std::string, std::map<std::string, ListedEntry>> parse_debugfs_listings(const std::string& text);

// An ext4 file system inside a disk image, read with debugfs (read-only).
class Ext4Reader {
 public:
  Ext4Reader(std::filesystem::path disk, std::uint64_t offset, std::filesystem::path scratch);

  std::optional<InodeInfo> stat(const std::string& path) const;
  std::optional<std::string> read_file(const std::string& path) const;
  // The raw value of extended attribute `name`, nullopt when absent.
  std::optional<std::string> xattr(const std::string& path, const std::string& name) const;
  // Every path under / (absolute, "/" itself excluded) with its inode, read
  // directory level by directory level, one debugfs run per level.
  std::map<std::string, InodeInfo> list_tree() const;

 private:
  RunResult debugfs(const std::vector<std::string>& commands) const;
  std::string spec() const;

  std::filesystem::path disk_;
  std::uint64_t offset_;
  std::filesystem::path scratch_;
};

// A FAT file system inside a disk image, read with mtools.
class FatReader {
 public:
  FatReader(std::filesystem::path disk, std::uint64_t offset, std::filesystem::path scratch);

  // Every path on the file system ("/EFI/BOOT/BOOTX64.EFI"; directories end in '/').
  std::vector<std::string> list_tree() const;
  std::optional<std::string> read_file(const std::string& path) const;

 private:
  std::string drive() const;

  std::filesystem::path disk_;
  std::uint64_t offset_;
  std::filesystem::path scratch_;
};

// A VFS file capability (the security.capability xattr, v2 or v3).
struct FileCaps {
  int version = 0;
  bool effective = false;
  std::uint64_t permitted = 0;
  std::uint64_t inheritable = 0;
  std::optional<std::uint32_t> rootid;  // v3 only: a namespaced capability
};

// nullopt when `value` is not a capability xattr of a known version.
std::optional<FileCaps> decode_file_caps(const std::string& value);

struct FstabEntry {
  std::string spec;
  std::string mount_point;
  std::string type;
  std::string options;
};

// Non-comment lines of /etc/fstab.
std::vector<FstabEntry> parse_fstab(const std::string& text);

// Lines of a colon-separated file (/etc/passwd, /etc/group, /etc/shadow)
// keyed by their first field.
std::map<std::string, std::vector<std::string>> parse_colon_file(const std::string& text);

// "HASH  NAME" lines of a SHA256SUMS file: name -> hash ("*NAME" = binary mode).
std::map<std::string, std::string> parse_sha256sums(const std::string& text);

// sha256 of a file, by the host's sha256sum.
std::string sha256_of(const std::filesystem::path& file, const std::filesystem::path& scratch);

// Validates a JSON document against a JSON Schema draft 2019-09 schema with
// the host's python3-jsonschema. Empty when valid, else the validator's message.
std::string json_schema_errors(const std::filesystem::path& schema, const std::filesystem::path& document,
                               const std::filesystem::path& scratch);

std::string read_text(const std::filesystem::path& path);

}  // namespace tests::image
