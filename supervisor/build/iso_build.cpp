// `build` of an `imageType: iso` template (iso_build.hpp):
//
//   target: lock -> fetch -> install -> make-disk (raw + raw.gz)
//   live:   lock -> fetch -> install (+ live-installer) -> make-initrd
//   make-iso -> publish
//
// Everything that can be refused is refused before the first download: the
// live environment's template, the live-installer program, a target disk
// the installer could not grow.
#include "supervisor/build/iso_build.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/openat2.hpp"
#include "base/pe_image.hpp"
#include "base/unique_fd.hpp"
#include "config/emit.hpp"
#include "config/initramfs.hpp"
#include "stages/isomaker/client.hpp"
#include "supervisor/build/archive_checks.hpp"
#include "supervisor/build/build_steps.hpp"
#include "supervisor/build/host_tools.hpp"
#include "supervisor/build/image_record.hpp"
#include "supervisor/build/initrd_build.hpp"
#include "supervisor/build/reproducible.hpp"
#include "supervisor/build/secure_boot.hpp"
#include "supervisor/stage/stage_launch.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
namespace isomaker_client = stage::isomaker::client;
using ipc::proto::StageKind;

// What is known and checked before anything is fetched.
struct IsoPlan {
  config::ProviderData provider;
  config::ImageTemplate live;  // merged with its OS default
  fs::path live_installer;
  DiskLayout layout;  // checked up front; the build plans it again with derived identifiers
  IsoDiskFacts disk;
};

// The target as the disk maker makes it for the ISO: the plain raw image
// (its hashes are the manifest's rawSha256 and rawSize) and the gzip copy
// the medium carries, whatever artifacts the template lists.
BuildRequest raw_target(const BuildRequest& request) {
  BuildRequest target = request;
  base::require(target.image.disk.has_value(), "an iso image needs a disk section: the disk its installer writes");
  target.image.disk->artifacts = {{"raw", "none"}, {"raw", "gz"}};
  return target;
}

// The live environment comes from the same distribution and architecture:
// its GRUB boots the medium and its kernel runs the installer.
void require_same_target(const config::ImageTemplate& target, const config::ImageTemplate& live,
                         const fs::path& live_path) {
  const auto key = [](const config::ImageTemplate& t) {
    return t.target->os.value_or("") + "/" + t.target->dist.value_or("") + "/" + t.target->arch.value_or("");
  };
  if (key(target) == key(live)) return;
  throw base::Error(base::ErrorKind::kInvalidInput, "the live environment '" + live_path.string() + "' is for " +
                                                       key(live) + ", the ISO installs " + key(target) +
                                                       "; both must be the same os/dist/arch");
}

std::vector<HostTool> iso_host_tools(const BuildRequest& target, const config::ImageTemplate& live,
                                     std::string_view family) {
  std::vector<HostTool> tools = repository_tools();
  for (HostTool& tool : image_tools(target.image, family)) tools.push_back(std::move(tool));
  for (HostTool& tool : image_tools(live, family)) tools.push_back(std::move(tool));
  sandbox::ImageFeatures features;
  features.package_family = family;
  for (HostTool& tool : stage_info(StageKind::ISOMAKER).host_programs(features)) tools.push_back(std::move(tool));
  return tools;
}

// Secure Boot of the medium: the live environment's shim boots the signed
// GRUB, so the live environment gets the OS data's shim package; OS data
// without grub.secureBoot is refused before anything is fetched.
void require_iso_shim(IsoPlan& plan) {
  const config::GrubNames& grub = plan.provider.facts.grub;
  if (grub.shim.empty() || grub.sbat.empty() || grub.shim_package.empty()) {
    base::fail(base::ErrorKind::kInvalidInput,
               "Failed to build: Secure Boot of an ISO (systemConfig.immutability.secureBootDB*) needs a shim and "
               "GRUB's SBAT, and the OS data of " + plan.provider.id + " (" +
                   (plan.provider.os_dir / "config.yml").string() + ") has no grub.secureBoot; remove the keys");
  }
  base::require(plan.provider.arch == "x86_64", "Failed to build: Secure Boot of an ISO is built for x86_64, not " +
                                                    plan.provider.arch + "; remove the keys");
  auto& packages = plan.live.system_config->packages;
  if (std::find(packages.begin(), packages.end(), grub.shim_package) == packages.end()) {
    packages.push_back(grub.shim_package);
  }
}

IsoPlan plan_iso(const BuildRequest& request, const BuildRequest& target, Logger& log) {
  IsoPlan plan;
  plan.provider = load_provider_for(request.image, request.global);
  config::LoadedTemplate live = config::load_live_template(request.image, {request.global.config_dir});
  log_warnings(live.warnings, log);
  plan.live = std::move(live.tmpl);
  require_same_target(request.image, plan.live, plan.live.source);
  plan.live_installer = live_installer_binary();
  plan.layout = plan_disk_layout(*target.image.disk);
  plan.disk = iso_disk_facts(plan.layout);
  const PackageFamily& family = family_for(plan.provider);
  if (secure_boot_keys(request.image)) require_iso_shim(plan);
  require_host_tools(iso_host_tools(target, plan.live, family.name()));
  check_additional_files(request.image,
                         additional_file_roots(request.image, plan.provider.os_dir, request.allow_outside_files));
  check_additional_files(plan.live,
                         additional_file_roots(plan.live, plan.provider.os_dir, request.allow_outside_files));
  return plan;
}

// Both templates, both package sets, every host file and every program
// that goes into the ISO.
InputDigest iso_input_digest(const BuildRequest& request, const IsoPlan& plan, const Lockfile& lock,
                             const Lockfile& live_lock) {
  ImageInputs inputs{
      .provider_id = plan.provider.id,
      .merged_template = config::emit_template(request.image) + "---\n" + config::emit_template(plan.live),
      .lockfile = lockfile_to_json(lock) + lockfile_to_json(live_lock),
      .host_files = {},
      .programs = image_programs(secure_boot_keys(request.image)
                                     ? std::vector{StageKind::INSTALLER, StageKind::DISKMAKER, StageKind::ISOMAKER,
                                                   StageKind::SIGNER}
                                     : std::vector{StageKind::INSTALLER, StageKind::DISKMAKER, StageKind::ISOMAKER})};
  inputs.programs.push_back(plan.live_installer);
  for (const config::ImageTemplate* t : {&request.image, &plan.live}) {
    for (const auto& file : t->system_config->additional_files) {
      inputs.host_files.push_back(additional_file_source(file, t->source));
    }
  }
  return digest_image_inputs(inputs);
}

// sha256 and size of a file a stage wrote, hashed here: what the stage
// reported is only compared.
struct Hashed {
  std::string sha256;
  std::uint64_t size = 0;
};
Hashed hash_stage_file(const fs::path& path, const std::string& reported_sha256) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) base::check_syscall(-1, "open", path.string());
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "inspect", path.string());
  base::require(S_ISREG(st.st_mode) && st.st_nlink == 1, "'" + path.string() + "' is not a plain regular file");
  Hashed hashed{sha256_of_fd(fd.get(), path.string()), static_cast<std::uint64_t>(st.st_size)};
  if (hashed.sha256 != reported_sha256) {
    throw base::Error(base::ErrorKind::kFailed, "'" + path.string() + "' has sha256 " + hashed.sha256 +
                                                   ", the disk maker reported " + reported_sha256);
  }
  return hashed;
}

const ImageResults::Artifact& artifact_named(const ImageResults& results, const std::string& name) {
  for (const auto& artifact : results.artifacts) {
    if (artifact.path.filename() == name) return artifact;
  }
  throw base::Error(base::ErrorKind::kFailed, "make-disk did not report '" + name + "'");
}

IsoRawImage raw_image_of(const ImageResults& results, const std::string& base) {
  const ImageResults::Artifact& raw = artifact_named(results, base + ".raw");
  const ImageResults::Artifact& gz = artifact_named(results, base + ".raw.gz");
  const Hashed raw_hash = hash_stage_file(raw.path, raw.sha256);
  const Hashed gz_hash = hash_stage_file(gz.path, gz.sha256);
  return {gz.path.filename().string(), gz_hash.sha256, gz_hash.size, raw_hash.sha256, raw_hash.size};
}

// A new file in a directory the supervisor just made (no stage has it).
fs::path write_new_file(const fs::path& dir, const std::string& name, const std::string& text) {
  const fs::path path = dir / name;
  base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) base::check_syscall(-1, "create", path.string());
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    base::check_syscall(n < 0 ? -1 : 0, "write", path.string());
    done += static_cast<std::size_t>(n);
  }
  return path;
}

// --keep-requests DIR: the live environment's requests under DIR/live.
std::optional<fs::path> live_requests_dir(const std::optional<fs::path>& keep_requests) {
  if (!keep_requests) return std::nullopt;
  return *keep_requests / "live";
}

// A fresh directory of the supervisor's own (refused if anything is there).
fs::path new_dir(const fs::path& path) {
  base::check_syscall(::mkdir(path.c_str(), 0755), "create directory", path.string());
  return path;
}

// The medium's files from the supervisor: manifest, lockfile, template dump.
std::vector<IsoJobInputs::Extra> iso_config_files(const fs::path& dir, const BuildRequest& request,
                                                  const IsoPlan& plan, const Lockfile& lock,
                                                  const IsoRawImage& raw, const fs::path& raw_gz) {
  const std::string lock_text = lockfile_to_json(lock);
  const std::string manifest = iso_manifest(request.image, plan.disk, raw, sha256_hex(lock_text));
  return {{write_new_file(dir, "manifest.json", manifest), "/" + std::string(kIsoManifestPath)},
          {write_new_file(dir, "lock.json", lock_text), "/" + iso_lockfile_path(request.image)},
          {write_new_file(dir, "template-dump.yaml", config::emit_template(request.image)),
           "/" + std::string(kIsoTemplatePath)},
          {raw_gz, "/" + iso_image_path(raw)}};
}

// The target's packages under the names the ISO's repository gives them:
// hard links to the verified cache objects, copies across file systems.
std::vector<fs::path> link_packages(const fs::path& dir, const Lockfile& lock, const PackageFiles& files,
                                    std::string_view suffix) {
  std::vector<fs::path> linked;
  std::set<std::string> names;
  for (const LockedPackage& package : lock.packages) {
    const std::string name = iso_package_file_name(package, suffix);
    base::require(names.insert(name).second, "two packages are named '" + name + "' in the ISO's repository");
    const auto object = files.by_name.find(package.name);
    base::check(object != files.by_name.end(), "package " + package.name + " is not in the cache");
    const fs::path link = dir / name;
    if (::link(object->second.c_str(), link.c_str()) != 0) {
      // Another file system, or a cache object this user may not link (protected_hardlinks).
      std::error_code ec;
      fs::copy_file(object->second, link, ec);
      if (ec) {
        throw base::Error(base::ErrorKind::kFailed, "Failed to copy '" + object->second.string() + "' to '" +
                                                       link.string() + "': " + ec.message());
      }
    }
    linked.push_back(link);
  }
  return linked;
}

IsoJobInputs iso_job_inputs(const BuildRequest& request, const IsoPlan& plan, const InitrdImage& live,
                            const std::vector<fs::path>& packages, const fs::path& packages_dir, const Lockfile& lock) {
  const config::Kernel kernel = plan.live.system_config->kernel.value_or(config::Kernel{});
  IsoJobInputs in{.live_tree = live.root_dir,
                  .kernel = live.kernel,
                  .kernel_sha256 = live.kernel_sha256,
                  .initrd = live.initrd,
                  .package_family = std::string(family_for(plan.provider).name()),
                  .packages_dir = packages_dir,
                  .title = *request.image.image->name,
                  .cmdline = kernel.cmdline.value_or(""),
                  .bios_boot = iso_bios_boot(plan.provider.arch, live.root_dir, plan.provider.facts.grub),
                  .grub = plan.provider.facts.grub,
                  .clamp_time = build_time(lock, std::getenv("SOURCE_DATE_EPOCH")),
                  .output_name = output_base_name(request.image) + ".iso"};
  in.packages = packages;
  return in;
}

// make-iso; the ISO's file as the supervisor checked it.
OutputFile make_iso(Orchestrator& run, const IsoJobInputs& in) {
  OutputFile iso;
  run.add(StageJob{
      .name = "make-iso",
      .kind = StageKind::ISOMAKER,
      .after = {},
      .prepare = [in] { return prepare_iso_request(in); },
      .on_success = [&iso, &in](const StageOutcome& outcome) {
        const auto result = isomaker_client::decode_iso(outcome.result_reader().getIsomaker());
        base::require(result.iso.name == in.output_name,
                     "make-iso wrote '" + result.iso.name + "', not '" + in.output_name + "'");
        iso = {in.output_dir / in.output_name, in.output_name, result.iso.sha256, result.iso.size};
      },
      .timeout = stage_info(StageKind::ISOMAKER).default_timeout,
  });
  run.run();
  return iso;
}

// A copy of the file `fd` reads as a new file `to` of the supervisor's own.
void copy_to_new_file(int fd, const fs::path& to) {
  base::UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!out) base::check_syscall(-1, "create", to.string());
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n < 0 ? -1 : 0, "read", "the file copied to " + to.string());
    if (n == 0) break;
    base::write_all(out.get(), std::string_view(buffer, static_cast<std::size_t>(n)), to.string());
  }
}

// A stage's file (hashed again here, opened without following a link)
// copied to `to`.
void copy_stage_file(const fs::path& from, const std::string& reported_sha256, const fs::path& to) {
  (void)hash_stage_file(from, reported_sha256);
  base::UniqueFd fd(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) base::check_syscall(-1, "open", from.string());
  copy_to_new_file(fd.get(), to);
  base::UniqueFd copy(::open(to.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!copy) base::check_syscall(-1, "open", to.string());
  base::require(sha256_of_fd(copy.get(), to.string()) == reported_sha256,
                "'" + from.string() + "' changed while it was copied to '" + to.string() + "'");
}

// The live tree's shim as `to`, its own CA dropped so that it trusts the
// firmware's db alone. A stage wrote the tree: the path is followed inside
// it as from its root (no magic link, no other mount) to a regular file.
void copy_live_shim(const fs::path& live_tree, const std::string& shim, const fs::path& to) {
  const std::string shown = shim + " of the live tree " + live_tree.string() + " (grub.secureBoot.shim)";
  base::UniqueFd root(::open(live_tree.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) base::check_syscall(-1, "open", live_tree.string());
  open_how how{};
  how.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  const long opened = base::openat2_retrying(root.get(), shim.c_str(), how);
  base::check_syscall(static_cast<int>(opened), "open", shown);
  base::UniqueFd file(static_cast<int>(opened));
  struct stat st{};
  base::check_syscall(::fstat(file.get(), &st), "stat", shown);
  constexpr off_t kMaxShimBytes = off_t{64} << 20;
  base::require(S_ISREG(st.st_mode) && st.st_size <= kMaxShimBytes,
                "Refused the shim " + shown + ": not a regular file of at most 64 MiB");
  std::string image(static_cast<std::size_t>(st.st_size), '\0');
  for (std::size_t done = 0; done < image.size();) {
    const ssize_t n = ::read(file.get(), image.data() + done, image.size() - done);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", shown);
    base::require(n > 0, "Failed to read the shim " + shown + ": it became shorter");
    done += static_cast<std::size_t>(n);
  }
  {
    base::ErrorContext ctx{"reading the shim", shown};
    base::disable_shim_vendor_cert(image);
  }
  write_new_file(to.parent_path(), to.filename().string(), image);
}

// Secure Boot of the medium (the template's DB keys): make-iso-loader makes
// the GRUB the firmware runs through shim, then it and the live kernel are
// signed with the live tree's shim as an ESP's binaries are
// (sign-esp-N/verify-esp-N: only the signer sees the key), in copies of the
// supervisor's own; `in` then names the signed copies.
void sign_iso_boot_chain(Orchestrator& run, const SecureBootKeys& keys, const IsoPlan& plan,
                         const fs::path& workspace, IsoJobInputs& in, Logger& log) {
  const IsoLoaderInputs loader{in.live_tree, in.grub, in.title, in.cmdline, new_dir(workspace / "iso-loader"),
                               "grubx64.efi"};
  std::string loader_sha256;
  run.add(StageJob{
      .name = "make-iso-loader",
      .kind = StageKind::ISOMAKER,
      .after = {},
      .prepare = [loader] { return prepare_iso_loader_request(loader); },
      .on_success = [&loader_sha256, &loader](const StageOutcome& outcome) {
        const auto result = isomaker_client::decode_loader(outcome.result_reader().getIsomaker());
        base::require(result.loader.name == loader.output_name,
                      "make-iso-loader wrote '" + result.loader.name + "', not '" + loader.output_name + "'");
        loader_sha256 = result.loader.sha256;
      },
      .timeout = stage_info(StageKind::ISOMAKER).default_timeout,
  });
  run.run();
  // The files to sign, as an ESP copy with one partition "medium".
  const fs::path medium = new_dir(new_dir(workspace / "iso-efi") / "medium");
  new_dir(new_dir(medium / "EFI") / "BOOT");
  new_dir(medium / "images");
  copy_stage_file(loader.output_dir / loader.output_name, loader_sha256, medium / "EFI/BOOT/grubx64.efi");
  copy_live_shim(in.live_tree, plan.provider.facts.grub.shim, medium / "EFI/BOOT/BOOTX64.EFI");
  copy_stage_file(in.kernel, in.kernel_sha256, medium / "images/vmlinuz");
  const EspSigning signing{keys, workspace / "iso-efi", workspace};
  std::vector<std::string> verified;
  EspSigningReport report;
  for (StageJob& job : esp_signing_jobs(signing,
                                        {{"medium", "EFI/BOOT/BOOTX64.EFI"},
                                         {"medium", "EFI/BOOT/grubx64.efi"},
                                         {"medium", "images/vmlinuz"}},
                                        "", verified, report)) {
    run.add(std::move(job));
  }
  run.run();
  log.info("Signed " + std::to_string(report.signed_count) + " EFI binaries of the ISO for Secure Boot with " +
           report.certificate);
  in.kernel = medium / "images/vmlinuz";
  in.signed_loader = medium / "EFI/BOOT/grubx64.efi";
  in.signed_shim = medium / "EFI/BOOT/BOOTX64.EFI";
}

// The ISO, the target's SBOM, both lockfiles, the merged template and, with
// Secure Boot keys, the DB certificate.
std::vector<PublishedFile> publish_iso(const BuildRequest& request, const IsoPlan& plan, const OutputFile& iso,
                                       const ImageResults& target, const Lockfile& lock, const Lockfile& live_lock,
                                       const InputDigest& digest, Logger& log) {
  const std::string live_lock_name = output_base_name(request.image) + ".live.lock.json";
  std::vector<OutputFile> files = {iso, {{}, live_lock_name, "", std::nullopt, lockfile_to_json(live_lock)}};
  if (const auto keys = secure_boot_keys(request.image)) {
    files.push_back({{}, kDbCertificateFile, "", std::nullopt, read_db_certificate(keys->der)});
  }
  return publish_image_outputs(request, plan.provider, std::move(files), target.sbom_path, lock, digest, log);
}

}  // namespace

int run_iso_build(const BuildRequest& request, Logger& log) {
  const BuildRequest target = raw_target(request);
  const IsoPlan plan = plan_iso(request, target, log);
  const PackageFamily& family = family_for(plan.provider);
  // The cache's shared lock first: a cache clean never sees this build's directory unlocked.
  PackageCache cache(request.global.cache_dir, CacheAccess::kBuild);
  Workspace workspace(request.global.work_dir / plan.provider.id / "builds");
  log_warnings(cache.warnings(), log);
  ProgressReporter progress(choose_progress_mode(request.json, stdout), stdout);
  progress.build_started("Building " + plan.provider.id + " ISO from " + request.template_path.string(), 0);
  const auto options_for = [&](const config::ImageTemplate& image, bool dot) {
    return PipelineOptions{.workspace = workspace.dir(),
                           .workers = static_cast<std::uint32_t>(request.global.workers),
                           .dot_graph = dot && request.dotfile.has_value(),
                           .dot_system_only = request.system_packages_only,
                           .cache = &cache,
                           .package_keys = family.package_keys(plan.provider, image)};
  };
  const PipelineOptions options = options_for(request.image, true);
  const PipelineOptions live_options = options_for(plan.live, false);
  const auto run_options = orchestrator_options(request.global, request.keep_requests);
  // The live environment's jobs have the target's names: their requests go beside, under live/.
  const std::optional<fs::path> live_keep_requests = live_requests_dir(request.keep_requests);
  Orchestrator resolution_run(run_options, progress);
  Orchestrator live_resolution_run(orchestrator_options(request.global, live_keep_requests), progress);
  Orchestrator package_run(run_options, progress), image_run(run_options, progress), iso_run(run_options, progress);
  auto report_timings = [&] {
    progress.timing_table(timing_rows({&resolution_run, &live_resolution_run, &package_run, &image_run, &iso_run}));
  };
  try {
    const Lockfile lock = lock_for(request.image, request.lockfile, request.dotfile, plan.provider, resolution_run,
                                   options, log);
    const Lockfile live_lock =
        lock_for(plan.live, std::nullopt, std::nullopt, plan.provider, live_resolution_run, live_options, log);
    const InputDigest digest = iso_input_digest(request, plan, lock, live_lock);
    const fs::path output_dir =
        image_output_dir(request.global.work_dir, plan.provider.id, *request.image.system_config->name);
    if (hand_back_outputs(request, plan.provider, output_dir, lock, digest, progress, log, report_timings)) return 0;
    const PackageFiles files = fetch_packages(package_run, family, lock, cache, options, log);
    check_archives(package_run, lock, cache, files, log);
    // The target's disk with the identifiers of its template and lockfile (reproducible.hpp).
    const DiskLayout layout = plan_disk_layout(*target.image.disk, derived_uuids(build_seed(target.image, lock)));
    const ImageResults results = make_image(image_run, target, plan.provider, lock, files, cache, workspace, layout, log);
    const IsoRawImage raw = raw_image_of(results, output_base_name(request.image));

    // The live environment, pinned to the lock resolved above.
    BuildRequest live_request = request;
    live_request.image = plan.live;
    live_request.template_path = plan.live.source;
    live_request.dotfile.reset();
    live_request.keep_requests = live_keep_requests;
    live_request.lockfile = write_new_file(new_dir(workspace.dir() / "live-lock"), "live.lock.json",
                                           lockfile_to_json(live_lock));
    live_request.supplied_files = {{plan.live_installer, kLiveInstallerPath, 0755}};
    const InitrdImage live = build_initrd(live_request, plan.provider, cache, new_dir(workspace.dir() / "live"),
                                          progress, log);

    const fs::path repo_dir = new_dir(workspace.dir() / "iso-repo");
    const std::vector<fs::path> packages = link_packages(repo_dir, lock, files, family.package_suffix());
    IsoJobInputs in = iso_job_inputs(request, plan, live, packages, repo_dir, lock);
    in.extra_files = iso_config_files(new_dir(workspace.dir() / "iso-files"), request, plan, lock, raw,
                                      artifact_named(results, raw.gz_name).path);
    in.output_dir = new_dir(workspace.dir() / "iso-out");
    if (const auto keys = secure_boot_keys(request.image)) {
      sign_iso_boot_chain(iso_run, *keys, plan, workspace.dir(), in, log);
    }
    const OutputFile iso = make_iso(iso_run, in);
    const std::vector<PublishedFile> published =
        publish_iso(request, plan, iso, results, lock, live.lock, digest, log);
    report_timings();
    sign_outputs(request, progress, published, log);
    report_outputs(progress, published);
    return 0;
  } catch (const base::Error&) {
    report_timings();
    throw;
  }
}

}  // namespace supervisor
