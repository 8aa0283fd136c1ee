// `imageType: iso` (docs/image-build.md, "ISO images"): the target is built
// as a raw disk image like any raw build, plus a gzip copy the ISO carries;
// the live environment is the template named by
// systemConfig.initramfs.template (config/initramfs.hpp), built as an initrd
// with this project's live-installer added; stage-isomaker's make-iso job
// puts both on a hybrid medium with the target's packages as /cache-repo
// and /install/manifest.json, which live-installer reads.
//
// The pieces below are plain functions of their inputs, so the manifest and
// the request are checked without starting a stage.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/build/build.hpp"
#include "supervisor/build/disk_layout.hpp"
#include "supervisor/build/lockfile.hpp"
#include "supervisor/log.hpp"
#include "supervisor/stage/orchestrator.hpp"

namespace supervisor {

// The live environment's installer: the live-installer program built beside
// the CLI (build tree: live/live-installer) or installed in
// libexec/os-image-composer. Throws base::Error naming where it looked.
std::filesystem::path live_installer_binary();
// Where live-installer goes in the live environment.
inline constexpr const char* kLiveInstallerPath = "/usr/bin/live-installer";

// The partitions the installer needs to know of the target's disk. Throws
// base::Error (kInvalidInput) when "/" cannot be grown to fill a disk: it
// must be the last partition and an ext2/3/4 file system.
struct IsoDiskFacts {
  std::uint32_t root_partition = 0;  // 1-based
  std::string root_fs_type;
  std::uint32_t esp_partition = 0;  // 0 = none
};
IsoDiskFacts iso_disk_facts(const DiskLayout& layout);

// The target's raw image as the ISO carries it.
struct IsoRawImage {
  std::string gz_name;  // "<name>-<version>.raw.gz"
  std::string gz_sha256;
  std::uint64_t gz_size = 0;
  std::string raw_sha256;
  std::uint64_t raw_size = 0;
};

// Paths on the medium, relative to its mount point.
std::string iso_image_path(const IsoRawImage& image);             // images/<gz_name>
std::string iso_lockfile_path(const config::ImageTemplate& target);  // config/<name>-<version>.lock.json
inline constexpr const char* kIsoTemplatePath = "config/template-dump.yaml";
inline constexpr const char* kIsoManifestPath = "install/manifest.json";

// /install/manifest.json (docs/image-build.md): what live-installer writes
// and checks. diskPath is the target's disk.path ("" = the installer asks).
std::string iso_manifest(const config::ImageTemplate& target, const IsoDiskFacts& disk, const IsoRawImage& image,
                         const std::string& lockfile_sha256);

// The file name a package has in the ISO's repository: the base name of its
// URL, as its repository names it (the cache keeps it by sha256), else
// "<name>_<version>_<arch><suffix>" with the epoch left out.
std::string iso_package_file_name(const LockedPackage& package, std::string_view suffix);

// Everything the make-iso request is made of; host paths.
struct IsoJobInputs {
  std::filesystem::path live_tree;  // bound read-only: GRUB and its modules
  std::filesystem::path kernel;     // -> /images/vmlinuz
  std::string kernel_sha256;        // as the supervisor hashed it after make-initrd
  std::filesystem::path initrd;     // -> /images/initrd.img
  struct Extra {
    std::filesystem::path source;  // a regular file, opened without following a link
    std::string iso_path;          // absolute on the medium
  };
  std::vector<Extra> extra_files;
  std::string package_family;                  // "deb" or "rpm"
  std::vector<std::filesystem::path> packages;  // verified cache objects
  std::filesystem::path packages_dir;           // the cache's packages/, bound read-only
  std::string title;                            // of the default menu entry
  std::string cmdline;                          // the live environment's kernel command line
  bool bios_boot = false;
  config::GrubNames grub;                       // the live environment's (provider data)
  std::int64_t clamp_time = -1;
  std::filesystem::path output_dir;  // bound read-write
  std::string output_name;
  // Secure Boot: the signed shim as the EFI boot file, the signed GRUB
  // beside it; `kernel` is then the signed kernel.
  std::filesystem::path signed_shim;  // empty = no Secure Boot
  std::filesystem::path signed_loader;
};

// The GRUB for Secure Boot (make-iso-loader): the menu `in` gives the ISO,
// built into it with the OS data's SBAT.
struct IsoLoaderInputs {
  std::filesystem::path live_tree;  // bound read-only
  config::GrubNames grub;
  std::string title;
  std::string cmdline;
  std::filesystem::path output_dir;  // bound read-write
  std::string output_name;
};
PreparedRequest prepare_iso_loader_request(const IsoLoaderInputs& in);

// True when the ISO also boots under legacy BIOS: x86_64, and the live tree
// holds GRUB's i386-pc modules.
bool iso_bios_boot(const std::string& arch, const std::filesystem::path& live_tree, const config::GrubNames& grub);

PreparedRequest prepare_iso_request(const IsoJobInputs& in);

// The whole ISO build (build.cpp's dispatch for imageType iso).
int run_iso_build(const BuildRequest& request, Logger& log);

}  // namespace supervisor
