#include "supervisor/build/image_jobs.hpp"

#include <cctype>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "base/error.hpp"
#include "ipc/framing.hpp"
#include "supervisor/build/additional_files.hpp"
#include "supervisor/family.hpp"
#include "supervisor/build/password_hash.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ipc::proto::BuildEnv;
using ipc::proto::DiskmakerRequest;
using ipc::proto::InstallerRequest;

const config::SystemConfig& system_config(const config::ImageTemplate& image) {
  ipc::require(image.system_config.has_value(), "the template has no systemConfig");
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
void fill_packages(InstallerRequest::Builder out, const InstallInputs& in) {
  const std::vector<const LockedPackage*> order = packages_in_install_order(in.lock);
  const PackageFamily& family = family_named(in.lock.family);
  auto list = out.initPackages(static_cast<unsigned>(order.size()));
  for (std::size_t i = 0; i < order.size(); ++i) {
    const LockedPackage& p = *order[i];
    const auto file = in.package_files.find(p.name);
    ipc::check(file != in.package_files.end(), "package " + p.name + " is not in the cache");
    auto entry = list[static_cast<unsigned>(i)];
    entry.initFile().setPath(file->second.string());
    entry.setName(p.name);
    entry.setVersion(p.version);
    entry.setArchitecture(p.architecture);
    family.fill_installer_package(p, entry);
    entry.setSha256(p.sha256);
    entry.setSize(p.size);
    entry.setDownloadUrl(p.url);
    entry.setRepository(p.repository);
  }
}

void fill_users(InstallerRequest::Builder out, const config::SystemConfig& sc) {
  auto users = out.initUsers(static_cast<unsigned>(sc.users.size()));
  for (std::size_t i = 0; i < sc.users.size(); ++i) {
    const config::User& u = sc.users[i];
    auto user = users[static_cast<unsigned>(i)];
    user.setName(u.name);
    user.setPasswordHash(hash_password(u.name, u.password, u.hash_algo.value_or("")));
    auto groups = user.initGroups(static_cast<unsigned>(u.groups.size()));
    for (std::size_t g = 0; g < u.groups.size(); ++g) groups.set(static_cast<unsigned>(g), u.groups[g]);
    user.setShell(u.shell.value_or(""));
    user.setHome(u.home.value_or(""));
    user.setSudo(u.sudo.value_or(false));
  }
}

// Files go as fds while the request has room; the rest by path with a
// read-only bind of just that file.
// Each file is opened once, inside the allowed directories, and that fd is
// what the installer copies (additional_files.hpp).
void fill_additional_files(InstallerRequest::Builder out, PreparedRequest& p, const InstallInputs& in) {
  const config::ImageTemplate& image = in.image;
  const AdditionalFileRoots roots = additional_file_roots(image, in.os_data_dir, in.allow_outside_files);
  const auto& files = system_config(image).additional_files;
  auto list = out.initAdditionalFiles(static_cast<unsigned>(files.size()));
  const std::size_t fd_budget = ipc::FrameLimits{}.max_fds;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path source = additional_file_source(files[i], image.source);
    ipc::ErrorContext ctx{"reading additional file", source.string()};
    OpenedAdditionalFile opened = open_additional_file(source, roots);
    ipc::require(fs::path(files[i].final).is_absolute(),
                 "additionalFiles: final '" + files[i].final + "' must be an absolute path");
    auto entry = list[static_cast<unsigned>(i)];
    if (p.fds.size() < fd_budget) {
      entry.initSource().setSlot(static_cast<std::int32_t>(p.fds.size()));
      p.fds.push_back(std::move(opened.fd));
      p.fd_paths.push_back(opened.path);
      p.fd_flags.push_back(O_RDONLY);
    } else {
      // Past the fd budget: bound at the path the checked fd resolved to.
      entry.initSource().setPath(opened.path.string());
      p.mounts.read_only.push_back(opened.path);
    }
    entry.setDestination(files[i].final);
    entry.setMode((opened.mode & S_IXUSR) ? 0755 : 0644);
  }
}

void fill_os_config(InstallerRequest::Builder out, const InstallInputs& in) {
  const config::SystemConfig& sc = system_config(in.image);
  out.setHostname(image_hostname(sc));
  fill_users(out, sc);
  auto commands = out.initCommands(static_cast<unsigned>(sc.configurations.size()));
  for (std::size_t i = 0; i < sc.configurations.size(); ++i) {
    commands[static_cast<unsigned>(i)].setScript(sc.configurations[i].cmd);
  }
  auto fstab = out.initFstab(static_cast<unsigned>(in.layout.fstab.size()));
  for (std::size_t i = 0; i < in.layout.fstab.size(); ++i) {
    const FstabLine& line = in.layout.fstab[i];
    auto entry = fstab[static_cast<unsigned>(i)];
    entry.setSpec(line.spec);
    entry.setMountPoint(line.mount_point);
    entry.setFsType(line.fs_type);
    entry.setOptions(line.options);
    entry.setDump(line.dump);
    entry.setPass(line.pass);
  }
  const config::Kernel kernel = sc.kernel.value_or(config::Kernel{});
  out.setKernelCmdline(kernel.cmdline.value_or(""));
  out.setUki(kernel.uki.value_or(false));
  out.setInitramfsTool(initramfs_tool(in.lock, in.facts));
  out.setSudoGroup(in.facts.sudo_group);
  out.setInitrdFileName(in.facts.initrd_file_name);
}

void fill_bootloader(ipc::proto::Bootloader::Builder out, const config::ImageTemplate& image) {
  const config::Bootloader b = system_config(image).bootloader.value_or(config::Bootloader{});
  out.setType(b.boot_type.value_or("efi"));
  const std::string provider = b.provider.value_or("grub");
  out.setProvider(provider == "grub2" ? "grub" : provider);
}

void fill_build_env(InstallerRequest::Builder out, PreparedRequest& p, const InstallInputs& in) {
  auto env = out.initBuildEnv();
  switch (in.build_env_mode) {
    case BuildEnvMode::kNone:
      env.setMode(BuildEnv::Mode::NONE);
      return;
    case BuildEnvMode::kReuse:
      env.setMode(BuildEnv::Mode::REUSE);
      p.add_dir(env.initDir(), in.build_env_tree, false);
      break;
    case BuildEnvMode::kSave:
      throw ipc::Error(ipc::ErrorKind::kFailed, "a build environment is saved by its own request");
  }
}

std::string artifact_compression(const config::Artifact& a) {
  const std::string c = a.compression.value_or("none");
  if (c.empty() || c == "none") return "none";
  if (c == "gz" || c == "gzip") return "gz";
  if (c == "xz" || c == "zstd") return c;
  throw ipc::Error(ipc::ErrorKind::kUnimplemented,
                   "disk.artifacts: compression '" + c + "' is not supported (use gz, xz or zstd)");
}

void fill_partitions(DiskmakerRequest::Builder out, const DiskLayout& layout) {
  auto list = out.initPartitions(static_cast<unsigned>(layout.partitions.size()));
  for (std::size_t i = 0; i < layout.partitions.size(); ++i) {
    const PlannedPartition& p = layout.partitions[i];
    auto part = list[static_cast<unsigned>(i)];
    part.setId(p.id);
    part.setIndex(p.index);
    part.setName(p.name);
    part.setTypeGuid(p.type);
    part.setStart(p.start);
    part.setEnd(p.end);
    part.setFsType(p.fs_type);
    part.setFsLabel(p.fs_label);
    part.setMountPoint(p.mount_point);
    part.setMountOptions(p.mount_options);
    auto flags = part.initFlags(static_cast<unsigned>(p.flags.size()));
    for (std::size_t f = 0; f < p.flags.size(); ++f) flags.set(static_cast<unsigned>(f), p.flags[f]);
    part.setFsUuid(p.fs_uuid);
    part.setPartUuid(p.part_uuid);
  }
}

}  // namespace

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

std::string output_base_name(const config::ImageTemplate& image) {
  ipc::require(image.image && image.image->name && image.image->version, "the template has no image.name/version");
  return *image.image->name + "-" + *image.image->version;
}

std::string initramfs_tool(const Lockfile& lock, const config::DistributionFacts& facts) {
  if (locks_package(lock, "dracut")) return "dracut";
  if (locks_package(lock, "initramfs-tools")) return "initramfs-tools";
  ipc::check(!facts.initramfs_tool.empty(), "the provider data names no initramfsTool");
  return facts.initramfs_tool;
}

std::vector<const LockedPackage*> packages_in_install_order(const Lockfile& lock) {
  std::map<std::string_view, const LockedPackage*> by_name;
  for (const auto& p : lock.packages) by_name.emplace(p.name, &p);
  std::vector<const LockedPackage*> order;
  std::set<std::string_view> placed;
  for (const std::string& name : lock.install_order) {
    const auto it = by_name.find(name);
    ipc::require(it != by_name.end(), "lockfile: install order names '" + name + "', which is not a locked package");
    if (placed.insert(it->first).second) order.push_back(it->second);
  }
  for (const auto& p : lock.packages) {
    if (placed.insert(p.name).second) order.push_back(&p);
  }
  return order;
}

fs::path additional_file_source(const config::AdditionalFile& file, const fs::path& template_path) {
  const fs::path local(file.local);
  if (local.is_absolute()) return local;
  const fs::path declared = file.declared_in.empty() ? template_path : file.declared_in;
  return fs::absolute(declared).parent_path() / local;
}

// The base only: the stage sees the packages and the tree it fills.
PreparedRequest prepare_save_request(const InstallInputs& in) {
  PreparedRequest p;
  auto request = p.init_request().initInstaller();
  fill_packages(request, in);
  p.add_dir(request.initRootDir(), in.build_env_tree, true);
  auto env = request.initBuildEnv();
  env.setMode(BuildEnv::Mode::SAVE);
  p.add_dir(env.initDir(), in.build_env_tree, true);
  p.mounts.read_only.push_back(in.packages_dir);
  p.mounts.extra.push_back({sandbox::MountKind::kProc, {}, (in.build_env_tree / "proc").string(), {}});
  p.mounts.extra.push_back({sandbox::MountKind::kDev, {}, (in.build_env_tree / "dev").string(), {}});
  return p;
}

PreparedRequest prepare_install_request(const InstallInputs& in) {
  if (in.build_env_mode == BuildEnvMode::kSave) return prepare_save_request(in);
  PreparedRequest p;
  auto request = p.init_request().initInstaller();
  fill_packages(request, in);
  p.add_dir(request.initRootDir(), in.root_dir, true);
  p.add_dir(request.initOutputDir(), in.output_dir, true);
  fill_build_env(request, p, in);
  fill_os_config(request, in);
  fill_additional_files(request, p, in);
  auto sbom = request.initSbom();
  sbom.setEnabled(true);
  sbom.setFileName(output_base_name(in.image) + ".spdx.json");
  sbom.setImageName(in.image.image->name.value_or(""));
  sbom.setImageVersion(in.image.image->version.value_or(""));
  sbom.setDistribution(in.distribution);
  sbom.setPurlType(in.facts.purl_type);
  fill_bootloader(request.initBootloader(), in.image);
  request.setRootFsUuid(in.layout.root_fs_uuid);
  request.setBootFsUuid(in.layout.boot_fs_uuid);
  request.setEspMountPoint(in.layout.esp_mount_point);
  p.mounts.read_only.push_back(in.packages_dir);
  p.mounts.read_write.push_back(in.workspace);
  // Maintainer scripts need /proc and /dev in the chroot; the launcher mounts
  // them before seccomp forbids mounting. They vanish with the sandbox.
  p.mounts.extra.push_back({sandbox::MountKind::kProc, {}, (in.root_dir / "proc").string(), {}});
  p.mounts.extra.push_back({sandbox::MountKind::kDev, {}, (in.root_dir / "dev").string(), {}});
  return p;
}

PreparedRequest prepare_disk_request(const DiskInputs& in) {
  ipc::require(in.image.disk.has_value(), "the template has no disk section");
  PreparedRequest p;
  auto request = p.init_request().initDiskmaker();
  p.add_dir(request.initRootDir(), in.root_dir, true);
  request.setTableType(in.layout.gpt ? DiskmakerRequest::TableType::GPT : DiskmakerRequest::TableType::MBR);
  request.setDiskSize(in.layout.disk_size);
  fill_partitions(request, in.layout);
  fill_bootloader(request.initBootloader(), in.image);
  const config::Kernel kernel = system_config(in.image).kernel.value_or(config::Kernel{});
  request.setKernelCmdline(kernel.cmdline.value_or(""));
  request.setUki(kernel.uki.value_or(false));
  const auto& artifacts = in.image.disk->artifacts;
  auto list = request.initArtifacts(static_cast<unsigned>(std::max<std::size_t>(artifacts.size(), 1)));
  if (artifacts.empty()) {
    list[0].setType("raw");
    list[0].setCompression("none");
  }
  for (std::size_t i = 0; i < artifacts.size(); ++i) {
    list[static_cast<unsigned>(i)].setType(artifacts[i].type);
    list[static_cast<unsigned>(i)].setCompression(artifact_compression(artifacts[i]));
  }
  p.add_dir(request.initOutputDir(), in.output_dir, true);
  request.setOutputName(output_base_name(in.image));
  p.mounts.read_write.push_back(in.workspace);
  return p;
}

namespace {

// kSave: "install" fills the tree to save; "configure" then reuses it.
InstallInputs add_save_job(std::vector<StageJob>& jobs, const InstallInputs& install,
                           std::vector<std::string>& install_after, std::function<void()> on_saved) {
  if (install.build_env_mode != BuildEnvMode::kSave) return install;
  jobs.push_back(StageJob{
      .name = "install",
      .kind = ipc::proto::StageKind::INSTALLER,
      .after = install_after,
      .prepare = [install] { return prepare_install_request(install); },
      .on_success = [on_saved](const StageOutcome&) { if (on_saved) on_saved(); },
      .timeout = stage_info(ipc::proto::StageKind::INSTALLER).default_timeout,
  });
  install_after = {"install"};
  InstallInputs reuse = install;
  reuse.build_env_mode = BuildEnvMode::kReuse;
  reuse.build_env_tree = install.build_env_saved_tree;
  return reuse;
}

}  // namespace

std::vector<StageJob> image_jobs(const InstallInputs& save_or_install, const std::string& after,
                                 std::function<void()> on_saved, ImageResults& out) {
  std::vector<StageJob> jobs;
  std::vector<std::string> install_after;
  if (!after.empty()) install_after.push_back(after);
  const InstallInputs install = add_save_job(jobs, save_or_install, install_after, std::move(on_saved));
  // The installer job that applies the template: the only one, or the one after the save.
  const std::string install_job = save_or_install.build_env_mode == BuildEnvMode::kSave ? "configure" : "install";
  jobs.push_back(StageJob{
      .name = install_job,
      .kind = ipc::proto::StageKind::INSTALLER,
      .after = install_after,
      .prepare = [install] { return prepare_install_request(install); },
      .on_success =
          [install, &out](const StageOutcome& outcome) {
            auto result = outcome.result_reader().getInstaller();
            out.kernel_version = result.getKernelVersion();
            out.build_env_reused = result.getBuildEnvReused();
            const std::string sbom = result.getSbomPath();
            // Only the file name is taken from the stage; the directory is ours.
            out.sbom_path = (install.output_dir / (sbom.empty() ? fs::path(output_base_name(install.image) + ".spdx.json")
                                                                : fs::path(sbom).filename()))
                                .string();
          },
      .timeout = stage_info(ipc::proto::StageKind::INSTALLER).default_timeout,
  });
  const DiskInputs disk{.image = install.image,
                        .workspace = install.workspace,
                        .root_dir = install.root_dir,
                        .output_dir = install.output_dir,
                        .layout = install.layout};
  jobs.push_back(StageJob{
      .name = "make-disk",
      .kind = ipc::proto::StageKind::DISKMAKER,
      .after = {install_job},
      .prepare = [disk] { return prepare_disk_request(disk); },
      .on_success =
          [disk, &out](const StageOutcome& outcome) {
            for (auto artifact : outcome.result_reader().getDiskmaker().getArtifacts()) {
              // The stage names files inside its sandbox; the output directory
              // is bound at the same path, but only its file name is trusted.
              const fs::path name = fs::path(std::string(artifact.getPath())).filename();
              ipc::require(!name.empty() && name != "." && name != "..", "make-disk: bad artifact path");
              out.artifacts.push_back({disk.output_dir / name, artifact.getType(), artifact.getSha256(),
                                       artifact.getSize()});
            }
          },
      .timeout = stage_info(ipc::proto::StageKind::DISKMAKER).default_timeout,
  });
  return jobs;
}

void add_image_jobs(Orchestrator& orchestrator, const InstallInputs& install, const std::string& after,
                    std::function<void()> on_saved, ImageResults& out) {
  for (StageJob& job : image_jobs(install, after, std::move(on_saved), out)) orchestrator.add(std::move(job));
}

}  // namespace supervisor
