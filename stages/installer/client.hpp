// The supervisor's side of stage-installer's contract (installer.capnp):
// plain structs, encoded into the request the supervisor sends and decoded
// from the result it gets back. The mirror of the stage's own request
// reading (installer_stage.cpp). Defaults are the schema's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ipc/shared.hpp"
#include "stages/installer/installer.capnp.h"

namespace stage::installer::client {

struct PackageFile {
  ipc::FdReference file;
  std::string name;
  std::string version;
  std::string architecture;
  bool essential = false;                // the family's fields (supervisor/family.hpp)
  std::vector<std::string> pre_depends;
  std::string sha256;                    // of the package file, for the SBOM
  std::uint64_t size = 0;
  std::string download_url;
  std::string repository;                // repository id from the lockfile
  bool deferred = false;                 // rpm: second transaction, no scriptlets (Request::rpm set)
};

// User::password_max_age when the template names none (the schema's default):
// the image's /etc/login.defs decides.
constexpr std::int32_t kDistributionDefaultMaxAge = -2;

struct User {
  std::string name;
  std::string password_hash;  // crypt(3) hash; never a clear password
  std::int32_t uid = -1;      // -1 = next free
  std::vector<std::string> groups;
  std::string shell;
  std::string home;
  bool sudo = false;
  std::vector<std::string> ssh_authorized_keys;
  std::string startup_script;  // "" = none; else replaces the login shell (a file of the image)
  std::int32_t password_max_age = kDistributionDefaultMaxAge;  // days (chage -M); -1 = no limit
};

struct AdditionalFile {
  ipc::FdReference source;
  std::string destination;  // absolute path inside the image
  std::uint32_t mode = 0644;
};

// An argv, or a script run by the image's /bin/sh.
using Command = std::variant<std::vector<std::string>, std::string>;

struct FstabEntry {
  std::string spec;
  std::string mount_point;
  std::string fs_type;
  std::string options;
  std::uint8_t dump = 0;
  std::uint8_t pass = 0;
};

struct Sbom {
  bool enabled = false;
  std::string file_name;  // inside the output directory
  std::string image_name;
  std::string image_version;
  std::string distribution;
  std::string purl_type;  // "deb" or "rpm" (provider config.yml)
};

using BuildEnvMode = ipc::proto::BuildEnv::Mode;
struct BuildEnv {
  BuildEnvMode mode = BuildEnvMode::NONE;
  std::optional<ipc::FdReference> dir;
};

// The rpm family: the host's rpm installs into the image's rpmdb. Without
// it the request is the deb family's (PackageFile's Debian fields).
struct RpmFamily {
  std::string db_path;                  // e.g. "/var/lib/rpm" (provider config.yml)
  std::vector<ipc::FdReference> keys;   // armored repository keys imported into the rpmdb
};

// The distribution's GRUB names (provider config.yml); see installer.capnp.
struct Grub {
  std::string mkstandalone;     // "grub2-mkstandalone", in the image's /usr/bin
  std::string modules_dir;      // "/usr/lib/grub/x86_64-efi"
  std::string config_dir;       // "/boot/grub2"
  std::string tools_package;    // ships mkstandalone
  std::string modules_package;  // ships modules_dir
  std::string shim{};           // Secure Boot: the unsigned shim in the image; "" = not described
  std::string shim_package{};   // ships shim
  std::string sbat{};           // GRUB's SBAT CSV
};

// A read-only root on dm-verity (immutability.enabled): the GPT partition
// UUIDs of the root's data and of its hash tree; see installer.capnp.
struct Verity {
  std::string data_part_uuid;  // the partition mounted at /
  std::string hash_part_uuid;  // the partition holding the hash tree
};

struct Request {
  std::vector<PackageFile> packages;  // in installation order
  ipc::FdReference root_dir;
  std::string hostname;
  std::vector<User> users;
  std::vector<AdditionalFile> additional_files;
  std::vector<Command> commands;
  std::vector<FstabEntry> fstab;
  std::string kernel_cmdline;
  std::string initramfs_tool;  // "dracut", "initramfs-tools" or "none"
  std::vector<std::string> extra_modules;  // kernel modules the initramfs must hold besides its own choice
  std::optional<Sbom> sbom;
  std::optional<ipc::FdReference> output_dir;  // for the SBOM
  BuildEnv build_env;
  std::optional<ipc::Bootloader> bootloader;
  bool uki = false;
  std::string root_fs_uuid;
  std::string boot_fs_uuid;
  std::string esp_mount_point;
  std::string sudo_group;        // the distribution's: "sudo", "wheel" (provider config.yml)
  std::string initrd_file_name;  // in /boot, "{kver}" = kernel version (provider config.yml)
  std::optional<RpmFamily> rpm;  // unset: the deb family
  std::optional<Grub> grub;      // unset: the schema's (Debian's)
  std::optional<Verity> verity;  // unset: a writable root
  bool secure_boot = false;      // Secure Boot keys given: the ESP is signed after the install
  std::string esp_fs_uuid;       // the ESP's FAT volume id; "" = unknown
  std::optional<ipc::FdReference> initramfs_cache;  // kept initramfs images (read-only); unset: none
};

struct InstalledPackage {
  std::string name;
  std::string version;
  std::string architecture;
};

struct Result {
  std::string root_dir;
  std::vector<InstalledPackage> installed;
  std::string sbom_path;
  std::string kernel_path;  // relative to root_dir
  std::string initrd_path;  // relative to root_dir
  std::string kernel_version;
  bool build_env_reused = false;
  std::vector<std::string> boot_files;  // relative to root_dir
  std::string initramfs_key;            // the initramfs may be kept under it ("" = not)
  bool initramfs_reused = false;        // copied from the request's initramfs_cache
  std::vector<std::string> initramfs_touched;  // what making it only touched, relative to root_dir
};

void encode(const Request& request, ipc::proto::InstallerRequest::Builder out);
Result decode(ipc::proto::InstallerResult::Reader result);

}  // namespace stage::installer::client
