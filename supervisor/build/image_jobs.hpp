// The image steps of a build as stage jobs, after the packages are verified
// in the cache (docs/image-build.md):
//
//   install (stage-installer) -> make-disk (stage-diskmaker)
//
// With Secure Boot keys (secure_boot.hpp), make-disk stops before the ESP
// and the jobs it finds are added as it succeeds:
//
//   make-disk -> sign-esp-N -> verify-esp-N (each EFI binary) -> finish-disk
//
// The request builders are plain functions of their inputs so they can be
// checked without starting a stage.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/cache/build_env_cache.hpp"
#include "supervisor/build/additional_files.hpp"
#include "supervisor/build/disk_layout.hpp"
#include "supervisor/build/lockfile.hpp"
#include "supervisor/build/package_fetch.hpp"
#include "supervisor/build/secure_boot.hpp"
#include "supervisor/stage/orchestrator.hpp"

namespace supervisor {

// Everything the install request is made of. Paths are host paths; every
// one is bound into the sandbox at the same path.
struct InstallInputs {
  const config::ImageTemplate& image;
  const Lockfile& lock;
  const std::map<std::string, std::filesystem::path>& package_files;  // name -> verified cache object
  std::filesystem::path packages_dir;  // the cache's packages/ (bound read-only)
  std::filesystem::path workspace;     // bound read-write
  std::filesystem::path root_dir;      // <workspace>/root, empty
  std::filesystem::path output_dir;    // <workspace>/out
  const DiskLayout& layout;
  BuildEnvMode build_env_mode = BuildEnvMode::kNone;
  std::filesystem::path build_env_tree;  // kReuse: the saved tree; kSave: the empty tree to fill; kNone: empty
  std::string distribution;              // for the SBOM, e.g. "debian-debian12-x86_64"
  config::DistributionFacts facts;       // the provider's config.yml: initramfs tool, purl type, ...
  std::optional<PackageKeys> package_keys;  // PackageFamily::package_keys
  std::filesystem::path build_env_saved_tree;  // kSave: where the tree is once committed
  std::filesystem::path os_data_dir;  // config/osv/<os>/<dist>: additional files may come from there
  bool allow_outside_files = false;   // build --allow-outside-files (additional_files.hpp)
  // The stages' SOURCE_DATE_EPOCH (given_build_time, reproducible.hpp): the
  // user's, else the lockfile's newest repository date, else -1 (the clock).
  std::int64_t source_date_epoch = -1;
  std::vector<SuppliedFile> supplied_files;  // the build's own files, after the template's (additional_files.hpp)
  // Kept initramfs images (cache/initramfs_store.hpp), bound read-only; empty: none used or kept.
  std::filesystem::path initramfs_store;
};

// The disk maker's run: the whole disk, or (Secure Boot) all but the FAT
// partitions, then those from the signed ESP copies (diskmaker.capnp's Phase).
enum class DiskRun { kWhole, kPartitions, kFinish };

struct DiskInputs {
  const config::ImageTemplate& image;
  std::filesystem::path workspace;
  std::filesystem::path root_dir;
  std::filesystem::path output_dir;
  const DiskLayout& layout;
  DiskRun run = DiskRun::kWhole;
  std::int64_t source_date_epoch = -1;  // the stage's SOURCE_DATE_EPOCH; -1 = unset
};

// <output_dir>/.<output base name>.esp: where phase partitions copies the ESPs.
std::filesystem::path esp_copies_dir(const config::ImageTemplate& image, const std::filesystem::path& output_dir);

// target.imageType img: no disk, so no boot loader, initramfs, fstab or ESP
// (the installer request says so: bootloader type "none", initramfsTool "none").
// systemConfig.immutability.enabled: a read-only root on dm-verity.
bool is_immutable(const config::ImageTemplate& image);

bool is_initrd_image(const config::ImageTemplate& image);

// "<image.name>-<image.version>": the base name of every output file.
std::string output_base_name(const config::ImageTemplate& image);
// systemConfig.hostname, or a valid hostname made from systemConfig.name.
std::string image_hostname(const config::SystemConfig& system);

// "dracut" or "initramfs-tools", from the package set, else the distribution's
// initramfsTool (provider config.yml). A dm-verity root (`verity`) takes
// dracut also from Debian's dracut-core, which installs beside
// initramfs-tools (dracut itself conflicts with it): only dracut's
// initramfs runs systemd, which opens the verity root.
std::string initramfs_tool(const Lockfile& lock, const config::DistributionFacts& facts, bool verity = false);

// The packages of `lock` in installation order (install_order, then any
// package it does not name, in lockfile order).
std::vector<const LockedPackage*> packages_in_install_order(const Lockfile& lock);

// An additional file's `local` as a host path: the first of its candidates
// that exists (config::additional_file_candidates), else the first candidate.
std::filesystem::path additional_file_source(const config::AdditionalFile& file,
                                             const std::filesystem::path& template_path);

// In kSave mode, the request of the first job ("install"): the packages
// installed into build_env_tree (rootDir and buildEnv.dir both name it) and
// nothing else of the template.
PreparedRequest prepare_install_request(const InstallInputs& in);
PreparedRequest prepare_disk_request(const DiskInputs& in);

// What the two jobs reported.
struct ImageResults {
  std::string kernel_version;
  std::string kernel_path;  // in the tree: "boot/vmlinuz-<kver>" ("" = no kernel)
  std::string initrd_path;  // in the tree, the distribution's initramfs file name (may not exist)
  std::string sbom_path;  // host path of the SBOM in the output directory
  bool build_env_reused = false;
  struct Artifact {
    std::filesystem::path path;
    std::string type;
    std::string sha256;
    std::uint64_t size = 0;
  };
  std::vector<Artifact> artifacts;
  std::string root_hash;  // dm-verity root hash (immutability), "" without
  EspSigningReport secure_boot;  // signed_count 0: no Secure Boot
  bool initramfs_reused = false;  // copied from the initramfs store
  std::vector<std::string> warnings;  // for the build's log
};

// Adds "install" (after `after`, empty: at once) and "make-disk". In kSave
// mode "install" only installs the packages straight into the tree to save
// and stops, `on_saved` commits it (read-only from then on), and a
// "configure" job reuses it like any later build before "make-disk",
// so no template configuration, additional file, initramfs or boot loader
// step ever runs where the saved tree is writable. The inputs are copied
// into the jobs; `out` is filled by the time Orchestrator::run() returns
// without throwing. image_jobs returns those jobs, in order, and adds none;
// each job's timeout is its stage's (stage_table.hpp).
// The installer jobs alone ("install", or "install" then "configure" in
// kSave mode, as below); configure_job_name is the last one's name.
std::vector<StageJob> install_jobs(const InstallInputs& install, const std::string& after,
                                   std::function<void()> on_saved, ImageResults& out);
std::string configure_job_name(const InstallInputs& install);
// `add_later` adds the jobs found while running (Secure Boot's signing jobs
// and finish-disk, added as make-disk succeeds); required with Secure Boot keys.
std::vector<StageJob> image_jobs(const InstallInputs& install, const std::string& after,
                                 std::function<void()> on_saved, ImageResults& out,
                                 std::function<void(StageJob)> add_later = {});
void add_image_jobs(Orchestrator& orchestrator, const InstallInputs& install, const std::string& after,
                    std::function<void()> on_saved, ImageResults& out);

}  // namespace supervisor
