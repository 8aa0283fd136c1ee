// The image template as typed data: one struct per section of the YAML format
// (docs/templates.md). std::optional marks keys whose absence differs from an
// empty value, because merge treats "not set" as "keep the default".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace config {

// Where a key was written: 1-based line and column.
struct Mark {
  std::string file;
  int line = 0;
  int column = 0;
  bool operator==(const Mark&) const = default;
};

// Key path ("disk.partitions[1].end") → where its value was written.
using Marks = std::map<std::string, Mark>;

struct Metadata {
  std::optional<std::string> description;
  std::vector<std::string> use_cases;
  std::vector<std::string> keywords;
  bool operator==(const Metadata&) const = default;
};

struct Image {
  std::optional<std::string> name;
  std::optional<std::string> version;
  bool operator==(const Image&) const = default;
};

struct Target {
  std::optional<std::string> os;
  std::optional<std::string> dist;
  std::optional<std::string> arch;
  std::optional<std::string> image_type;  // raw | iso | img
  bool operator==(const Target&) const = default;
};

struct Artifact {
  std::string type;
  std::optional<std::string> compression;
  bool operator==(const Artifact&) const = default;
};

struct Partition {
  std::optional<std::string> id;
  std::optional<std::int64_t> index;
  std::optional<std::string> name;
  std::optional<std::string> type;
  std::optional<std::string> type_uuid;
  std::optional<std::string> fs_type;
  std::optional<std::string> fs_label;
  std::optional<std::string> start;
  std::optional<std::string> end;
  std::optional<std::string> mount_point;
  std::optional<std::string> mount_options;
  std::vector<std::string> flags;
  bool operator==(const Partition&) const = default;
};

struct Disk {
  std::optional<std::string> name;
  std::optional<std::string> path;
  std::optional<std::string> size;
  std::optional<std::string> partition_table_type;  // gpt | mbr
  std::vector<Artifact> artifacts;
  std::vector<Partition> partitions;
  bool operator==(const Disk&) const = default;
};

struct PackageRepository {
  std::string codename;
  std::optional<std::string> url;
  std::optional<std::string> path;
  std::optional<std::string> pkey;
  std::vector<std::string> pkeys;
  std::optional<std::string> component;
  std::optional<std::int64_t> priority;
  std::vector<std::string> allow_packages;
  // Pins: the Release must be signed by one of these (40 hex digits each).
  std::vector<std::string> key_fingerprints;
  bool operator==(const PackageRepository&) const = default;
};

struct Kernel {
  std::optional<std::string> name;
  std::optional<std::string> version;
  std::optional<std::string> cmdline;
  std::vector<std::string> packages;
  std::optional<std::string> enable_extra_modules;
  std::optional<bool> uki;
  bool operator==(const Kernel&) const = default;
};

struct Bootloader {
  std::optional<std::string> boot_type;  // efi | legacy
  std::optional<std::string> provider;   // grub | grub2 | systemd-boot
  bool operator==(const Bootloader&) const = default;
};

struct Immutability {
  bool enabled = false;
  std::optional<std::string> secure_boot_db_key;
  std::optional<std::string> secure_boot_db_crt;
  std::optional<std::string> secure_boot_db_cer;
  bool operator==(const Immutability&) const = default;
};

struct User {
  std::string name;
  std::optional<std::string> password;
  std::optional<std::string> hash_algo;
  std::optional<std::int64_t> password_max_age;
  std::optional<std::string> startup_script;
  std::vector<std::string> groups;
  std::optional<bool> sudo;
  std::optional<std::string> home;
  std::optional<std::string> shell;
  bool operator==(const User&) const = default;
};

struct Initramfs {
  std::optional<std::string> template_path;  // key "template"
  // The template file that declared it: a relative path is resolved against
  // its directory, also after merging. Not part of equality.
  std::filesystem::path declared_in;
  bool operator==(const Initramfs& o) const { return template_path == o.template_path; }
};

struct AdditionalFile {
  std::string local;
  std::string final;
  // The template file that declared this entry: a relative `local` is
  // resolved against its directory, also after merging. Not part of equality.
  std::filesystem::path declared_in;
  // Every template file of the merge that produced this entry, the OS
  // default's first: a relative `local` not found beside `declared_in` is
  // looked for beside these, as the reference does. Not part of equality.
  std::vector<std::filesystem::path> merge_chain = {};
  bool operator==(const AdditionalFile& o) const { return local == o.local && final == o.final; }
};

struct Configuration {
  std::string cmd;
  bool operator==(const Configuration&) const = default;
};

struct SystemConfig {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> hostname;
  std::vector<std::string> packages;
  std::optional<Kernel> kernel;
  std::optional<Bootloader> bootloader;
  std::optional<Immutability> immutability;
  std::vector<User> users;
  std::optional<Initramfs> initramfs;
  std::vector<AdditionalFile> additional_files;
  std::vector<Configuration> configurations;
  bool operator==(const SystemConfig&) const = default;
};

struct ImageTemplate {
  std::optional<Metadata> metadata;
  std::optional<Image> image;
  std::optional<Target> target;
  std::optional<Disk> disk;
  std::vector<PackageRepository> package_repositories;
  std::optional<SystemConfig> system_config;

  // The file this template was read from (for a merged template: the user's).
  std::filesystem::path source;
  Marks marks;

  // Compares the content only, not where it came from.
  bool operator==(const ImageTemplate& o) const {
    return metadata == o.metadata && image == o.image && target == o.target && disk == o.disk &&
           package_repositories == o.package_repositories && system_config == o.system_config;
  }
};

}  // namespace config
