// What stage-inspector finds in an image, as plain structs: filled by the
// stage (image_reader.hpp), carried as an InspectorResult (inspector.capnp),
// decoded by the supervisor (client.hpp) and printed by `inspect`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace stage::inspector {

struct PartitionTable {
  std::string label;  // "gpt" or "dos"
  std::string id;     // GPT disk GUID (upper case) or MBR disk id
  std::uint32_t sector_size = 512;
  std::uint64_t first_lba = 0;
  std::uint64_t last_lba = 0;
  bool operator==(const PartitionTable&) const = default;
};

struct Partition {
  std::uint32_t index = 0;
  std::string name;
  std::string type_guid;
  std::string unique_guid;
  std::uint64_t first_lba = 0;
  std::uint64_t last_lba = 0;
  std::uint64_t size_bytes = 0;
  std::string fs_type;  // empty: no file system recognised
  std::string fs_label;
  std::string fs_uuid;
  std::uint64_t fs_size_bytes = 0;  // 0: unknown
  bool operator==(const Partition&) const = default;
};

struct Package {
  std::string name;
  std::string version;
  std::string architecture;
  bool operator==(const Package&) const = default;
};

struct User {
  std::string name;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string gecos;
  std::string home;
  std::string shell;
  bool operator==(const User&) const = default;
};

struct Group {
  std::string name;
  std::uint32_t gid = 0;
  std::vector<std::string> members;
  bool operator==(const Group&) const = default;
};

struct BootFile {
  std::uint32_t partition = 0;
  std::string path;
  bool operator==(const BootFile&) const = default;
};

struct BootConfig {
  std::uint32_t partition = 0;
  std::string path;
  std::string text;
  bool operator==(const BootConfig&) const = default;
};

struct KernelEntry {
  std::string config;
  std::string kernel;
  std::string options;
  std::string verity_root_hash;
  bool operator==(const KernelEntry&) const = default;
};

struct UkiSection {
  std::string name;
  std::uint64_t size = 0;
  bool operator==(const UkiSection&) const = default;
};

struct Uki {
  std::uint32_t partition = 0;
  std::string path;
  std::vector<UkiSection> sections;
  std::string cmdline;
  std::string os_release;
  bool operator==(const Uki&) const = default;
};

// One file of a partition's file system (the manifest `compare` diffs).
struct FileEntry {
  std::uint32_t partition = 0;
  std::string path;  // "/etc/hostname"
  std::string type;  // "regular", "directory", "symlink", "char", "block", "fifo", "socket"
  std::uint32_t mode = 0;  // permission bits (07777); 0 on FAT, which has none
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::uint64_t size = 0;  // 0 for a directory
  std::string sha256;      // a regular file's content, lower-case hex; empty: not hashed (too large)
  std::string link_target;
  bool operator==(const FileEntry&) const = default;
};

struct Report {
  PartitionTable table;
  std::vector<Partition> partitions;
  std::uint32_t root_partition = 0;  // the index os_release..groups came from; 0: none
  std::vector<std::pair<std::string, std::string>> os_release;
  std::vector<Package> packages;
  std::vector<User> users;
  std::vector<Group> groups;
  std::vector<BootFile> boot_files;
  std::vector<BootConfig> boot_configs;
  std::vector<KernelEntry> kernel_entries;
  std::string sbom_path;  // in the root file system; empty: none found
  std::string sbom;       // its bytes, when asked for
  std::vector<Uki> ukis;
  std::vector<FileEntry> files;  // when asked for: sorted by partition and path
  bool operator==(const Report&) const = default;
};

}  // namespace stage::inspector
