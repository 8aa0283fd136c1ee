#include "supervisor/build/image_jobs.hpp"

#include <cctype>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "base/error.hpp"
#include "config/merge.hpp"
#include "ipc/framing.hpp"
#include "stages/diskmaker/client.hpp"
#include "stages/installer/client.hpp"
#include "supervisor/build/additional_files.hpp"
#include "supervisor/family.hpp"
#include "supervisor/build/password_hash.hpp"
#include "supervisor/build/reproducible.hpp"
#include "supervisor/cache/initramfs_store.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
namespace installer_client = stage::installer::client;
namespace diskmaker_client = stage::diskmaker::client;

const config::SystemConfig& system_config(const config::ImageTemplate& image) {
  base::require(image.system_config.has_value(), "the template has no systemConfig");
  return *image.system_config;
}

bool locks_package(const Lockfile& lock, std::string_view name) {
  return std::any_of(lock.packages.begin(), lock.packages.end(), [&](const LockedPackage& p) { return p.name == name; });
}

// Packages travel by path, not fd: a Debian image has ~200 packages and one
// request carries at most FrameLimits::max_fds (32). The stage sees the
// cache's packages/ read-only at the same path and nothing else of the cache;
// every object was re-hashed by PackageCache::open_verified() or commit() in
// this build, and the installer hashes each .deb again for the SBOM.
std::vector<installer_client::PackageFile> packages_to_install(const InstallInputs& in) {
  const PackageFamily& family = family_named(in.lock.family);
  std::vector<installer_client::PackageFile> out;
  for (const LockedPackage* p : packages_in_install_order(in.lock)) {
    const auto file = in.package_files.find(p->name);
    base::check(file != in.package_files.end(), "package " + p->name + " is not in the cache");
    installer_client::PackageFile entry{.file = ipc::FdReference::of_path(file->second.string()), .name = p->name,
                                        .version = p->version, .architecture = p->architecture, .sha256 = p->sha256,
                                        .size = p->size, .download_url = p->url, .repository = p->repository};
    family.fill_installer_package(*p, entry);
    out.push_back(std::move(entry));
  }
  return out;
}

// Each password's salt derived from the build's seed and the user's name.
std::vector<installer_client::User> users_of(const config::SystemConfig& sc, const std::string& seed) {
  std::vector<installer_client::User> users;
  for (const config::User& u : sc.users) {
    const std::vector<unsigned char> salt = derived_bytes(seed, "password-salt:" + u.name, kSaltBytes);
    users.push_back({.name = u.name, .password_hash = hash_password(u.name, u.password, u.hash_algo.value_or(""), salt),
                     .groups = u.groups, .shell = u.shell.value_or(""), .home = u.home.value_or(""),
                     .sudo = u.sudo.value_or(false), .startup_script = u.startup_script.value_or(""),
                     .password_max_age = u.password_max_age ? static_cast<std::int32_t>(*u.password_max_age)
                                                            : installer_client::kDistributionDefaultMaxAge});
  }
  return users;
}

// Files go as fds while the request has room; the rest by path with a
// read-only bind of just that file.
installer_client::AdditionalFile pass_file(PreparedRequest& p, OpenedAdditionalFile& opened,
                                           const std::string& destination, std::uint32_t mode) {
  installer_client::AdditionalFile entry{.destination = destination, .mode = mode};
  if (p.fds.size() < ipc::FrameLimits{}.max_fds) {
    entry.source = ipc::FdReference::of_slot(static_cast<int>(p.fds.size()));
    p.fds.push_back(std::move(opened.fd));
    p.fd_paths.push_back(opened.path);
    p.fd_flags.push_back(O_RDONLY);
  } else {
    // Past the fd budget: bound at the path the checked fd resolved to.
    entry.source = ipc::FdReference::of_path(opened.path.string());
    p.mounts.read_only.push_back(opened.path);
  }
  return entry;
}

// Each file is opened once, inside the allowed directories, and that fd is
// what the installer copies (additional_files.hpp).
std::vector<installer_client::AdditionalFile> additional_files(PreparedRequest& p, const InstallInputs& in) {
  const config::ImageTemplate& image = in.image;
  const AdditionalFileRoots roots = additional_file_roots(image, in.os_data_dir, in.allow_outside_files);
  std::vector<installer_client::AdditionalFile> out;
  for (const config::AdditionalFile& file : system_config(image).additional_files) {
    const fs::path source = additional_file_source(file, image.source);
    base::ErrorContext ctx{"reading additional file", source.string()};
    OpenedAdditionalFile opened = open_additional_file(source, roots);
    base::require(fs::path(file.final).is_absolute(),
                 "additionalFiles: final '" + file.final + "' must be an absolute path");
    out.push_back(pass_file(p, opened, file.final, (opened.mode & S_IXUSR) ? 0755u : 0644u));
  }
  for (const SuppliedFile& file : in.supplied_files) {
    OpenedAdditionalFile opened = open_supplied_file(file);
    out.push_back(pass_file(p, opened, file.destination, file.mode));
  }
  return out;
}

// kernel.enableExtraModules: module names separated by blanks or commas
// ("usbcore usb-common"); the installer checks each against the kernel.
std::vector<std::string> extra_modules(const config::Kernel& kernel) {
  std::vector<std::string> names;
  std::string name;
  for (const char c : kernel.enable_extra_modules.value_or("") + " ") {
    if (std::isspace(static_cast<unsigned char>(c)) == 0 && c != ',') {
      name += c;
    } else if (!name.empty()) {
      names.push_back(std::move(name));
      name.clear();
    }
  }
  return names;
}

void fill_os_config(installer_client::Request& out, const InstallInputs& in) {
  const config::SystemConfig& sc = system_config(in.image);
  out.hostname = image_hostname(sc);
  out.users = users_of(sc, build_seed(in.image, in.lock));
  for (const auto& configuration : sc.configurations) out.commands.emplace_back(configuration.cmd);
  for (const FstabLine& line : in.layout.fstab) {
    out.fstab.push_back({line.spec, line.mount_point, line.fs_type, line.options, line.dump, line.pass});
  }
  const config::Kernel kernel = sc.kernel.value_or(config::Kernel{});
  out.kernel_cmdline = kernel.cmdline.value_or("");
  out.uki = kernel.uki.value_or(false);
  out.extra_modules = extra_modules(kernel);
  // An initrd image is itself the initramfs: none is made inside it.
  out.initramfs_tool = is_initrd_image(in.image) ? "none" : initramfs_tool(in.lock, in.facts, in.layout.verity.has_value());
  out.sudo_group = in.facts.sudo_group;
  out.initrd_file_name = in.facts.initrd_file_name;
  const config::GrubNames& grub = in.facts.grub;
  out.grub = installer_client::Grub{grub.mkstandalone, grub.modules_dir, grub.config_dir, grub.tools_package,
                                    grub.modules_package, grub.shim, grub.shim_package, grub.sbat};
  out.secure_boot = secure_boot_keys(in.image).has_value();
}

ipc::Bootloader bootloader_of(const config::ImageTemplate& image) {
  if (is_initrd_image(image)) return {"none", ""};  // no disk to boot from: whoever loads it boots it
  const config::Bootloader b = system_config(image).bootloader.value_or(config::Bootloader{});
  const std::string provider = b.provider.value_or("grub");
  return {b.boot_type.value_or("efi"), provider == "grub2" ? "grub" : provider};
}

installer_client::BuildEnv build_env(PreparedRequest& p, const InstallInputs& in) {
  switch (in.build_env_mode) {
    case BuildEnvMode::kNone: return {installer_client::BuildEnvMode::NONE, std::nullopt};
    case BuildEnvMode::kReuse: return {installer_client::BuildEnvMode::REUSE, p.bind_dir(in.build_env_tree, false)};
    case BuildEnvMode::kSave: break;
  }
  throw base::Error(base::ErrorKind::kFailed, "a build environment is saved by its own request");
}

std::string artifact_compression(const config::Artifact& a) {
  const std::string c = a.compression.value_or("none");
  if (c.empty() || c == "none") return "none";
  if (c == "gz" || c == "gzip") return "gz";
  if (c == "xz" || c == "zstd") return c;
  throw base::Error(base::ErrorKind::kUnimplemented,
                   "disk.artifacts: compression '" + c + "' is not supported (use gz, xz or zstd)");
}

std::vector<diskmaker_client::Partition> partitions_of(const DiskLayout& layout) {
  std::vector<diskmaker_client::Partition> out;
  for (const PlannedPartition& p : layout.partitions) {
    out.push_back({p.id, p.index, p.name, p.type, p.start, p.end, p.fs_type, p.fs_label, p.mount_point,
                   p.mount_options, p.flags, p.fs_uuid, p.part_uuid, p.ext_hash_seed});
  }
  return out;
}

std::vector<diskmaker_client::Artifact> artifacts_of(const config::Disk& disk) {
  if (disk.artifacts.empty()) return {{"raw", "none"}};
  std::vector<diskmaker_client::Artifact> out;
  for (const config::Artifact& a : disk.artifacts) out.push_back({a.type, artifact_compression(a)});
  return out;
}

}  // namespace

bool is_immutable(const config::ImageTemplate& image) {
  const auto& system = image.system_config;
  return system && system->immutability && system->immutability->enabled;
}

bool is_initrd_image(const config::ImageTemplate& image) {
  return image.target && image.target->image_type.value_or("raw") == "img";
}

std::string image_hostname(const config::SystemConfig& system) {
  if (system.hostname) return *system.hostname;
  // No hostname in the template: one made from systemConfig.name, since a
  // name like "Minimal_Raw" is not a valid hostname as it is.
  std::string host;
  for (const char c : system.name.value_or("")) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (keep) host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!host.empty() && host.back() != '-') host += '-';
  }
  while (!host.empty() && host.back() == '-') host.pop_back();
  if (host.size() > 63) host.resize(63);
  while (!host.empty() && host.back() == '-') host.pop_back();
  return host.empty() ? "localhost" : host;
}

fs::path esp_copies_dir(const config::ImageTemplate& image, const fs::path& output_dir) {
  return output_dir / ("." + output_base_name(image) + ".esp");
}

std::string output_base_name(const config::ImageTemplate& image) {
  base::require(image.image && image.image->name && image.image->version, "the template has no image.name/version");
  return *image.image->name + "-" + *image.image->version;
}

std::string initramfs_tool(const Lockfile& lock, const config::DistributionFacts& facts, bool verity) {
  if (locks_package(lock, "dracut") || (verity && locks_package(lock, "dracut-core"))) return "dracut";
  if (locks_package(lock, "initramfs-tools")) return "initramfs-tools";
  base::check(!facts.initramfs_tool.empty(), "the provider data names no initramfsTool");
  return facts.initramfs_tool;
}

std::vector<const LockedPackage*> packages_in_install_order(const Lockfile& lock) {
  std::map<std::string_view, const LockedPackage*> by_name;
  for (const auto& p : lock.packages) by_name.emplace(p.name, &p);
  std::vector<const LockedPackage*> order;
  std::set<std::string_view> placed;
  for (const std::string& name : lock.install_order) {
    const auto it = by_name.find(name);
    base::require(it != by_name.end(), "lockfile: install order names '" + name + "', which is not a locked package");
    if (placed.insert(it->first).second) order.push_back(it->second);
  }
  for (const auto& p : lock.packages) {
    if (placed.insert(p.name).second) order.push_back(&p);
  }
  return order;
}

fs::path additional_file_source(const config::AdditionalFile& file, const fs::path& template_path) {
  return config::find_additional_file(file, template_path)
      .value_or(config::additional_file_candidates(file, template_path).front());
}

// The stage runs with SOURCE_DATE_EPOCH when the inputs name one (the SBOM's time).
void encode_install_request(const installer_client::Request& request, const InstallInputs& in, PreparedRequest& p) {
  ipc::proto::StageRequest::Builder stage_request = p.init_request();
  stage_request.setSourceDateEpoch(in.source_date_epoch);
  installer_client::encode(request, stage_request.initInstaller());
}

// The base only: the stage sees the packages and the tree it fills.
PreparedRequest prepare_save_request(const InstallInputs& in) {
  PreparedRequest p;
  installer_client::Request request{.packages = packages_to_install(in)};
  request.root_dir = p.bind_dir(in.build_env_tree, true);
  request.build_env = {installer_client::BuildEnvMode::SAVE, p.bind_dir(in.build_env_tree, true)};
  family_named(in.lock.family).fill_installer_request(in.facts, in.package_keys, p, request);
  encode_install_request(request, in, p);
  p.mounts.read_only.push_back(in.packages_dir);
  p.mounts.extra.push_back({sandbox::MountKind::kProc, {}, (in.build_env_tree / "proc").string(), {}});
  p.mounts.extra.push_back({sandbox::MountKind::kDev, {}, (in.build_env_tree / "dev").string(), {}});
  return p;
}

PreparedRequest prepare_install_request(const InstallInputs& in) {
  if (in.build_env_mode == BuildEnvMode::kSave) return prepare_save_request(in);
  PreparedRequest p;
  installer_client::Request request{.packages = packages_to_install(in)};
  request.root_dir = p.bind_dir(in.root_dir, true);
  request.output_dir = p.bind_dir(in.output_dir, true);
  request.build_env = build_env(p, in);
  if (!in.initramfs_store.empty()) request.initramfs_cache = p.bind_dir(in.initramfs_store, false);
  fill_os_config(request, in);
  request.additional_files = additional_files(p, in);
  request.sbom = installer_client::Sbom{.enabled = true,
                                        .file_name = output_base_name(in.image) + ".spdx.json",
                                        .image_name = in.image.image->name.value_or(""),
                                        .image_version = in.image.image->version.value_or(""),
                                        .distribution = in.distribution,
                                        .purl_type = in.facts.purl_type};
  request.bootloader = bootloader_of(in.image);
  request.root_fs_uuid = in.layout.root_fs_uuid;
  request.boot_fs_uuid = in.layout.boot_fs_uuid;
  request.esp_mount_point = in.layout.esp_mount_point;
  request.esp_fs_uuid = in.layout.esp_fs_uuid;
  if (in.layout.verity) {
    request.verity = installer_client::Verity{in.layout.verity->data_part_uuid, in.layout.verity->hash_part_uuid};
  }
  family_named(in.lock.family).fill_installer_request(in.facts, in.package_keys, p, request);
  encode_install_request(request, in, p);
  p.mounts.read_only.push_back(in.packages_dir);
  p.mounts.read_write.push_back(in.workspace);
  // Maintainer scripts need /proc and /dev in the chroot; the launcher mounts
  // them before seccomp forbids mounting. They vanish with the sandbox.
  p.mounts.extra.push_back({sandbox::MountKind::kProc, {}, (in.root_dir / "proc").string(), {}});
  p.mounts.extra.push_back({sandbox::MountKind::kDev, {}, (in.root_dir / "dev").string(), {}});
  return p;
}

PreparedRequest prepare_disk_request(const DiskInputs& in) {
  base::require(in.image.disk.has_value(), "the template has no disk section");
  PreparedRequest p;
  const config::Kernel kernel = system_config(in.image).kernel.value_or(config::Kernel{});
  diskmaker_client::Request request{
      .root_dir = p.bind_dir(in.root_dir, true),
      .table_type = in.layout.gpt ? diskmaker_client::TableType::GPT : diskmaker_client::TableType::MBR,
      .disk_size = in.layout.disk_size,
      .partitions = partitions_of(in.layout),
      .bootloader = bootloader_of(in.image),
      .kernel_cmdline = kernel.cmdline.value_or(""),
      .uki = kernel.uki.value_or(false),
      .artifacts = artifacts_of(*in.image.disk),
      .output_dir = p.bind_dir(in.output_dir, true),
      .output_name = output_base_name(in.image)};
  switch (in.run) {
    case DiskRun::kWhole: request.phase = diskmaker_client::Phase::WHOLE; break;
    case DiskRun::kPartitions: request.phase = diskmaker_client::Phase::PARTITIONS; break;
    case DiskRun::kFinish: request.phase = diskmaker_client::Phase::FINISH; break;
  }
  if (in.layout.verity) request.verity = diskmaker_client::Verity{in.layout.verity->data_id, in.layout.verity->hash_id};
  request.disk_id = in.layout.disk_id;
  ipc::proto::StageRequest::Builder stage_request = p.init_request();
  stage_request.setSourceDateEpoch(in.source_date_epoch);  // file system and FAT times, clamped file times
  diskmaker_client::encode(request, stage_request.initDiskmaker());
  p.mounts.read_write.push_back(in.workspace);
  return p;
}

namespace {

// One installer job: `install`'s request, and `on_result` given the result.
StageJob installer_job(std::string name, std::vector<std::string> after, const InstallInputs& install,
                       std::function<void(const installer_client::Result&)> on_result) {
  return StageJob{
      .name = std::move(name),
      .kind = ipc::proto::StageKind::INSTALLER,
      .after = std::move(after),
      .prepare = [install] { return prepare_install_request(install); },
      .on_success = [on_result](const StageOutcome& outcome) {
        on_result(installer_client::decode(outcome.result_reader().getInstaller()));
      },
      .timeout = stage_info(ipc::proto::StageKind::INSTALLER).default_timeout,
  };
}

// kSave: "install" fills the tree to save; "configure" then reuses it.
InstallInputs add_save_job(std::vector<StageJob>& jobs, const InstallInputs& install,
                           std::vector<std::string>& install_after, std::function<void()> on_saved) {
  if (install.build_env_mode != BuildEnvMode::kSave) return install;
  jobs.push_back(installer_job("install", install_after, install, [on_saved](const installer_client::Result&) {
    if (on_saved) on_saved();
  }));
  install_after = {"install"};
  InstallInputs reuse = install;
  reuse.build_env_mode = BuildEnvMode::kReuse;
  reuse.build_env_tree = install.build_env_saved_tree;
  return reuse;
}

// An initramfs the installer may reuse next time is copied from the tree it
// wrote; failing that only costs the next build the time to make it again.
void keep_or_touch_initramfs(const installer_client::Result& result, const InstallInputs& install, ImageResults& out) {
  if (install.initramfs_store.empty() || result.initramfs_key.empty()) return;
  if (result.initramfs_reused) {
    touch_initramfs(install.initramfs_store, result.initramfs_key);
    return;
  }
  try {
    keep_initramfs(install.initramfs_store, result.initramfs_key, install.root_dir, result.initrd_path,
                   result.initramfs_touched);
  } catch (const base::Error& e) {
    if (e.kind() == base::ErrorKind::kSandboxViolation) throw;  // a planted link: the build fails
    out.warnings.push_back(std::string("The initramfs is not kept for later builds: ") + e.what());
  }
}

void record_install(const installer_client::Result& result, const InstallInputs& install, ImageResults& out) {
  out.kernel_version = result.kernel_version;
  out.kernel_path = result.kernel_path;
  out.initrd_path = result.initrd_path;
  out.build_env_reused = result.build_env_reused;
  out.initramfs_reused = result.initramfs_reused;
  keep_or_touch_initramfs(result, install, out);
  // Only the file name is taken from the stage; the directory is ours.
  const fs::path sbom = result.sbom_path.empty() ? fs::path(output_base_name(install.image) + ".spdx.json")
                                                 : fs::path(result.sbom_path).filename();
  out.sbom_path = (install.output_dir / sbom).string();
}

bool is_root_hash(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

void record_artifacts(const diskmaker_client::Result& result, const fs::path& output_dir, ImageResults& out) {
  for (const auto& artifact : result.artifacts) {
    // The stage names files inside its sandbox; the output directory is bound
    // at the same path, but only its file name is trusted.
    const fs::path name = fs::path(artifact.path).filename();
    base::require(!name.empty() && name != "." && name != "..", "make-disk: bad artifact path");
    out.artifacts.push_back({output_dir / name, artifact.type, artifact.sha256, artifact.size});
  }
  base::require(result.root_hash.empty() || is_root_hash(result.root_hash),
                "make-disk: the dm-verity root hash '" + result.root_hash.substr(0, 80) + "' is not 64 hex digits");
  if (!result.root_hash.empty()) out.root_hash = result.root_hash;  // finish-disk reports none
}

StageJob disk_job(std::string name, std::vector<std::string> after, const DiskInputs& disk,
                  std::function<void(const diskmaker_client::Result&)> on_result) {
  return StageJob{
      .name = std::move(name),
      .kind = ipc::proto::StageKind::DISKMAKER,
      .after = std::move(after),
      .prepare = [disk] { return prepare_disk_request(disk); },
      .on_success = [on_result](const StageOutcome& outcome) {
        on_result(diskmaker_client::decode(outcome.result_reader().getDiskmaker()));
      },
      .timeout = stage_info(ipc::proto::StageKind::DISKMAKER).default_timeout,
  };
}

std::vector<std::string> fat_partition_ids(const DiskLayout& layout) {
  std::vector<std::string> ids;
  for (const PlannedPartition& p : layout.partitions) {
    if (p.fs_type == "vfat" || p.fs_type == "fat16" || p.fs_type == "fat32") ids.push_back(p.id);
  }
  return ids;
}

// make-disk has left the ESP copies: a signing job pair per EFI binary, then finish-disk.
void add_secure_boot_jobs(const SecureBootKeys& keys, DiskInputs disk, ImageResults& out,
                          const std::function<void(StageJob)>& add_later) {
  const EspSigning signing{keys, esp_copies_dir(disk.image, disk.output_dir), disk.workspace};
  std::vector<std::string> signed_jobs;
  for (StageJob& job : esp_signing_jobs(signing, list_esp_binaries(signing, fat_partition_ids(disk.layout)),
                                        "make-disk", signed_jobs, out.secure_boot)) {
    add_later(std::move(job));
  }
  disk.run = DiskRun::kFinish;
  add_later(disk_job("finish-disk", signed_jobs, disk, [output_dir = disk.output_dir, &out](const auto& result) {
    record_artifacts(result, output_dir, out);
  }));
}

}  // namespace

std::vector<StageJob> install_jobs(const InstallInputs& save_or_install, const std::string& after,
                                   std::function<void()> on_saved, ImageResults& out) {
  std::vector<StageJob> jobs;
  std::vector<std::string> install_after;
  if (!after.empty()) install_after.push_back(after);
  const InstallInputs install = add_save_job(jobs, save_or_install, install_after, std::move(on_saved));
  // The installer job that applies the template: the only one, or the one after the save.
  jobs.push_back(installer_job(configure_job_name(save_or_install), install_after, install,
                               [install, &out](const installer_client::Result& r) { record_install(r, install, out); }));
  return jobs;
}

std::string configure_job_name(const InstallInputs& install) {
  return install.build_env_mode == BuildEnvMode::kSave ? "configure" : "install";
}

std::vector<StageJob> image_jobs(const InstallInputs& save_or_install, const std::string& after,
                                 std::function<void()> on_saved, ImageResults& out,
                                 std::function<void(StageJob)> add_later) {
  std::vector<StageJob> jobs = install_jobs(save_or_install, after, std::move(on_saved), out);
  const InstallInputs& install = save_or_install;
  DiskInputs disk{.image = install.image,
                  .workspace = install.workspace,
                  .root_dir = install.root_dir,
                  .output_dir = install.output_dir,
                  .layout = install.layout,
                  .source_date_epoch = install.source_date_epoch};
  const std::optional<SecureBootKeys> keys = secure_boot_keys(install.image);
  if (keys) {
    base::check(static_cast<bool>(add_later), "Secure Boot signing needs jobs added while the build runs");
    disk.run = DiskRun::kPartitions;
  }
  jobs.push_back(disk_job("make-disk", {configure_job_name(save_or_install)}, disk,
                          [disk, keys, add_later, &out](const diskmaker_client::Result& result) {
                            record_artifacts(result, disk.output_dir, out);
                            if (keys) add_secure_boot_jobs(*keys, disk, out, add_later);
                          }));
  return jobs;
}

void add_image_jobs(Orchestrator& orchestrator, const InstallInputs& install, const std::string& after,
                    std::function<void()> on_saved, ImageResults& out) {
  auto add_later = [&orchestrator](StageJob job) { orchestrator.add(std::move(job)); };
  for (StageJob& job : image_jobs(install, after, std::move(on_saved), out, add_later)) {
    orchestrator.add(std::move(job));
  }
}

}  // namespace supervisor
