// `lock` and `build`: the steps of a build as a linear list, each a call
// that adds stage jobs to an orchestrator and runs them.
#include "supervisor/build/build.hpp"
#include "supervisor/build/build_steps.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include <nlohmann/json.hpp>

#include "config/emit.hpp"
#include "config/provider.hpp"
#include "config/unbuilt_keys.hpp"
#include "base/error.hpp"
#include "base/file_write.hpp"
#include "supervisor/build/archive_checks.hpp"
#include "supervisor/cache/build_env_cache.hpp"
#include "supervisor/cache/initramfs_store.hpp"
#include "supervisor/build/disk_layout.hpp"
#include "supervisor/family.hpp"
#include "supervisor/build/host_tools.hpp"
#include "supervisor/build/image_jobs.hpp"
#include "supervisor/build/image_record.hpp"
#include "supervisor/build/initrd_build.hpp"
#include "supervisor/build/iso_build.hpp"
#include "supervisor/build/reproducible.hpp"
#include "supervisor/build/additional_files.hpp"
#include "supervisor/build/lockfile.hpp"
#include "supervisor/build/output_signature.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/build/outputs.hpp"
#include "supervisor/cache/package_cache.hpp"
#include "supervisor/cache/provider_records.hpp"
#include "supervisor/build/package_fetch.hpp"
#include "supervisor/stage/progress.hpp"
#include "supervisor/stage/stage_launch.hpp"
#include "supervisor/stage/stage_table.hpp"
#include "supervisor/build/workspace.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

const config::Target& target_of(const config::ImageTemplate& image) {
  base::require(image.target.has_value(), "the template has no target");
  return *image.target;
}

}  // namespace

// The steps an ISO build shares (build_steps.hpp).
config::ProviderData load_provider_for(const config::ImageTemplate& image, const config::GlobalConfig& global) {
  const config::Target& t = target_of(image);
  config::ProviderOptions options;
  options.skip_host_apt = !image.package_repositories.empty();
  return config::load_provider(global.config_dir, t.os.value_or(""), t.dist.value_or(""), t.arch.value_or(""),
                               options);
}

OrchestratorOptions orchestrator_options(const config::GlobalConfig& global,
                                         const std::optional<fs::path>& keep_requests) {
  OrchestratorOptions options;
  options.max_parallel = std::max<long>(2, ::sysconf(_SC_NPROCESSORS_ONLN));
  options.keep_requests = keep_requests;
  (void)global;
  return options;
}

std::vector<ProgressReporter::TimingRow> timing_rows(const std::vector<const Orchestrator*>& runs) {
  std::vector<ProgressReporter::TimingRow> rows;
  for (const Orchestrator* run : runs) {
    for (const auto& t : run->timings()) {
      std::vector<ProgressReporter::TimingStep> steps;
      for (const auto& s : t.steps) steps.push_back({s.name, s.wall, s.cpu});
      rows.push_back({t.name, t.stage, t.elapsed, t.usage.cpu, t.usage.peak_rss_bytes, t.ok, std::move(steps)});
    }
  }
  return rows;
}

namespace {

// Runs the resolution jobs; the orchestrator is kept for the timing table.
Resolution resolve(Orchestrator& orchestrator, const config::ProviderData& provider,
                   const config::ImageTemplate& image, const PipelineOptions& options) {
  Resolution resolution;
  family_for(provider).add_resolution_jobs(orchestrator, provider, image, options, resolution);
  orchestrator.run();
  return resolution;
}

void report_index_cache(const Resolution& resolution, Logger& log) {
  for (const auto& refusal : resolution.cache_refusals) log.warn("Replacing cached index " + refusal);
  for (const auto& warning : resolution.warnings) log.warn(warning);
  log.info("Package indexes: " + std::to_string(resolution.indexes_cached) + " from the metadata cache, " +
           std::to_string(resolution.indexes_decompressed) + " decompressed");
}

}  // namespace

void log_warnings(const std::vector<std::string>& warnings, Logger& log) {
  for (const std::string& warning : warnings) log.warn(warning);
}

namespace {

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw base::Error(base::ErrorKind::kFailed, "Failed to write '" + path.string() + "'");
}

void write_dotfile(const fs::path& path, const std::string& graph) {
  base::ErrorContext ctx{"writing the dependency graph"};
  write_text(path, graph);
}

// What every image build needs of the template.
void require_image_fields(const config::ImageTemplate& image) {
  base::require(image.image && image.image->name && image.image->version, "the template has no image.name/version");
  base::require(image.system_config && image.system_config->name, "the template has no systemConfig.name");
}

void add_disk_jobs(Orchestrator& run, const InstallInputs& inputs, std::function<void()> on_saved, ImageResults& out) {
  add_image_jobs(run, inputs, "", std::move(on_saved), out);
}

// install -> make-disk, on a disk planned before anything is fetched (so a
// disk the disk maker cannot make fails at once).
ImageSteps raw_steps(const config::ImageTemplate& image) {
  base::require(image.disk.has_value(), "a raw image needs a disk section");
  auto plan = [disk = *image.disk, verity = is_immutable(image)](const UuidSource& uuids) {
    DiskLayout layout = plan_disk_layout(disk, uuids);
    if (verity) plan_verity(layout, disk);
    return layout;
  };
  DiskLayout layout = plan(random_uuids());
  std::vector<ipc::proto::StageKind> stages = {ipc::proto::StageKind::INSTALLER, ipc::proto::StageKind::DISKMAKER};
  if (secure_boot_keys(image)) stages.push_back(ipc::proto::StageKind::SIGNER);  // it signs the ESP
  return {std::move(stages), std::move(layout), add_disk_jobs, plan};
}

}  // namespace

Lockfile lock_for(const config::ImageTemplate& image, const std::optional<fs::path>& lockfile,
                  const std::optional<fs::path>& dotfile, const config::ProviderData& provider, Orchestrator& run,
                  const PipelineOptions& options, Logger& log) {
  if (lockfile) {
    Lockfile lock = read_lockfile(*lockfile);
    base::require(lock.provider_id == provider.id, "lockfile '" + lockfile->string() + "' is for '" +
                                                      lock.provider_id + "', the template builds '" + provider.id + "'");
    log.info("Using " + std::to_string(lock.packages.size()) + " packages pinned in " + lockfile->string());
    return lock;
  }
  Resolution resolution = resolve(run, provider, image, options);
  report_index_cache(resolution, log);
  if (dotfile) write_dotfile(*dotfile, resolution.dot_graph);
  return std::move(resolution.lock);
}

std::vector<std::string> package_hashes(const Lockfile& lock) {
  std::vector<std::string> hashes;
  for (const LockedPackage& p : lock.packages) hashes.push_back(p.sha256);
  return hashes;
}

// Every package of `lock` verified in `cache` (downloaded where missing).
PackageFiles fetch_packages(Orchestrator& run, const PackageFamily& family, const Lockfile& lock, PackageCache& cache,
                            const PipelineOptions& options, Logger& log) {
  PackageFiles files;
  add_package_jobs(run, lock, cache, options, family.package_suffix(), "", files);
  run.run();
  record_provider_use(cache.root(), lock.provider_id, package_hashes(lock));  // for `cache clean --provider-id`
  for (const auto& message : files.evicted) log.warn(message);
  log.info(std::to_string(lock.packages.size()) + " packages verified in the cache (" +
           std::to_string(files.downloaded) + " downloaded, " + std::to_string(files.reused) + " reused)");
  return files;
}

ImageResults make_image(Orchestrator& run, const BuildRequest& request, const config::ProviderData& provider,
                        const Lockfile& lock, const PackageFiles& files, PackageCache& cache,
                        const fs::path& workspace, const DiskLayout& layout, const ImageJobsAdder& add_jobs,
                        Logger& log) {
  base::make_directories(workspace / "root");
  base::make_directories(workspace / "out");
  const std::int64_t stage_time = given_build_time(lock, std::getenv("SOURCE_DATE_EPOCH"));
  std::optional<BuildEnvLease> lease;
  if (request.build_env_use == BuildRequest::BuildEnvUse::kAsUsual) {
    lease.emplace(BuildEnvLease::acquire(cache.root(), provider.id, build_env_key(provider.id, lock, stage_time)));
    log_warnings(lease->warnings(), log);
  }
  const BuildEnvMode env_mode = lease ? lease->mode() : BuildEnvMode::kNone;
  // Like the build environment, never for --check-reproducible's second build.
  std::vector<std::string> store_warnings;
  const fs::path initramfs_store = lease ? initramfs_store_dir(cache.root(), &store_warnings) : fs::path();
  log_warnings(store_warnings, log);
  switch (env_mode) {
    case BuildEnvMode::kReuse: log.info("Reusing build environment " + lease->key()); break;
    case BuildEnvMode::kSave: log.info("Saving build environment " + lease->key() + " for later builds"); break;
    case BuildEnvMode::kNone:
      log.info(lease ? "Build environment " + lease->key() + " is being saved by another build; installing without it"
                     : std::string("Installing without a saved build environment (--check-reproducible)"));
      break;
  }
  if (request.reused_build_env && env_mode == BuildEnvMode::kReuse) *request.reused_build_env = true;
  const InstallInputs inputs{.image = request.image,
                             .lock = lock,
                             .package_files = files.by_name,
                             .packages_dir = cache.root() / "packages",
                             .workspace = workspace,
                             .root_dir = workspace / "root",
                             .output_dir = workspace / "out",
                             .layout = layout,
                             .build_env_mode = env_mode,
                             .build_env_tree = lease ? lease->tree() : fs::path(),
                             .distribution = provider.id,
                             .facts = provider.facts,
                             .package_keys = files.package_keys,
                             .build_env_saved_tree = lease ? lease->saved_tree() : fs::path(),
                             .os_data_dir = provider.os_dir,
                             .allow_outside_files = request.allow_outside_files,
                             .source_date_epoch = stage_time,
                             .supplied_files = request.supplied_files,
                             .initramfs_store = initramfs_store};
  ImageResults results;
  // Right after the packages: nothing of the template has run in the tree.
  auto on_saved = [&] {
    lease->commit();
    log.info("Saved build environment " + lease->key());
  };
  add_jobs(run, inputs, on_saved, results);
  run.run();
  if (!results.kernel_version.empty()) log.info("Installed kernel " + results.kernel_version);
  if (results.initramfs_reused) log.info("Reused the initramfs made for an identical tree");
  log_warnings(results.warnings, log);
  if (!results.root_hash.empty()) log.info("dm-verity root hash " + results.root_hash + " (read-only /)");
  if (results.secure_boot.signed_count > 0) {
    log.info("Signed " + std::to_string(results.secure_boot.signed_count) + " EFI binaries for Secure Boot with " +
             results.secure_boot.certificate);
  }
  return results;
}

ImageResults make_image(Orchestrator& run, const BuildRequest& request, const config::ProviderData& provider,
                        const Lockfile& lock, const PackageFiles& files, PackageCache& cache,
                        const Workspace& workspace, const DiskLayout& layout, Logger& log) {
  return make_image(run, request, provider, lock, files, cache, workspace.dir(), layout, add_disk_jobs, log);
}

std::vector<fs::path> image_programs(const std::vector<ipc::proto::StageKind>& stages) {
  std::vector<fs::path> programs;
  std::error_code ec;
  if (fs::path self = fs::read_symlink("/proc/self/exe", ec); !ec) programs.push_back(std::move(self));
  for (const auto kind : stages) {
    try {
      programs.push_back(stage_binary(kind));
    } catch (const base::Error&) {
      programs.push_back(fs::path("missing") / std::string(stage_info(kind).binary));
    }
  }
  return programs;
}

namespace {

InputDigest image_input_digest(const BuildRequest& request, const config::ProviderData& provider,
                               const Lockfile& lock, const std::vector<ipc::proto::StageKind>& stages) {
  ImageInputs inputs{.provider_id = provider.id,
                     .merged_template = config::emit_template(request.image),
                     .lockfile = lockfile_to_json(lock),
                     .host_files = {},
                     .programs = image_programs(stages)};
  for (const auto& file : request.image.system_config->additional_files) {
    inputs.host_files.push_back(additional_file_source(file, request.template_path));
  }
  // The certificates name the signer; the key itself is never read here.
  if (const auto keys = secure_boot_keys(request.image)) {
    inputs.host_files.push_back(keys->certificate);
    inputs.host_files.push_back(keys->der);
  }
  return digest_image_inputs(inputs);
}

}  // namespace

// The stage outputs, the SBOM, and the lockfile and merged template written
// by the supervisor straight into the output directory (never into the
// workspace, where a stage could have planted a link under their names),
// with the record of what they were made from.
std::vector<PublishedFile> publish_image_outputs(const BuildRequest& request, const config::ProviderData& provider,
                                                 std::vector<OutputFile> files, const fs::path& sbom_path,
                                                 const Lockfile& lock, const InputDigest& digest, Logger& log) {
  const std::string base = output_base_name(request.image);
  const std::string& provider_id = provider.id;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(sbom_path, ec))) {
    files.push_back({sbom_path, sbom_path.filename().string(), ""});
  } else {
    log.warn("The installer wrote no SBOM to the output directory; the image has none beside it");
  }
  files.push_back({{}, base + ".lock.json", "", std::nullopt, lockfile_to_json(lock)});
  files.push_back({{}, base + ".template.yml", "", std::nullopt, config::emit_template(request.image)});
  const NamingFacts facts = naming_facts(request, provider, &lock);
  for (OutputFile& f : files) f.name = published_name(request.output_names, f.name, facts);
  const fs::path dir = image_output_dir(request.global.work_dir, provider_id, *request.image.system_config->name);
  remove_build_record(dir);
  std::vector<PublishedFile> published = publish_outputs(dir, files);
  write_build_record(dir, digest, published);
  return published;
}

namespace {

std::vector<PublishedFile> publish(const BuildRequest& request, const config::ProviderData& provider,
                                   const Lockfile& lock, const ImageResults& results, const InputDigest& digest,
                                   Logger& log) {
  std::vector<OutputFile> files;
  for (const auto& artifact : results.artifacts) {
    files.push_back({artifact.path, artifact.path.filename().string(), artifact.sha256, artifact.size});
  }
  // The DB certificate for enrolment in the firmware, where the reference puts it.
  if (const auto keys = secure_boot_keys(request.image)) {
    files.push_back({{}, kDbCertificateFile, "", std::nullopt, read_db_certificate(keys->der)});
  }
  return publish_image_outputs(request, provider, std::move(files), results.sbom_path, lock, digest, log);
}

}  // namespace

namespace {

// The time in the reference scheme's SBOM name: the build's, so a
// reproducible build names it the same each time, else now.
std::int64_t sbom_name_time(const Lockfile* lock) {
  const std::int64_t given = lock != nullptr ? given_build_time(*lock, std::getenv("SOURCE_DATE_EPOCH")) : -1;
  return given >= 0 ? given : static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

NamingFacts naming_facts(const BuildRequest& request, const config::ProviderData& provider, const Lockfile* lock) {
  return {.own_base = output_base_name(request.image),
          .image_name = request.image.image->name.value_or(""),
          .os_version = provider.release_version,
          .package_type = std::string(config::to_string(provider.package_type)),
          .sbom_time = sbom_name_time(lock)};
}

bool hand_back_outputs(const BuildRequest& request, const config::ProviderData& provider, const fs::path& output_dir,
                       const Lockfile& lock, const InputDigest& digest, ProgressReporter& progress, Logger& log,
                       const std::function<void()>& report_timings) {
  if (request.rebuild) return false;
  OutputsCheck check = check_outputs(output_dir, digest);
  std::vector<std::string> names;
  for (const PublishedFile& f : check.files) names.push_back(f.path.filename().string());
  if (check.up_to_date && !named_by(request.output_names, names, naming_facts(request, provider, &lock))) {
    check = {.up_to_date = false, .reason = "the outputs were named by another --output-names scheme", .files = {}};
  }
  if (!check.up_to_date) {
    log.info("Building: " + check.reason);
    return false;
  }
  log.info("Outputs in " + output_dir.string() + " are up to date (build key " + digest.key.substr(0, 12) +
           "): nothing to build; --rebuild makes them again");
  report_timings();
  sign_outputs(request, progress, check.files, log);
  report_outputs(progress, check.files);
  return true;
}

void sign_outputs(const BuildRequest& request, ProgressReporter& progress, const std::vector<PublishedFile>& published,
                  Logger& log) {
  if (!request.sign_key || published.empty()) return;
  const fs::path dir = published.front().path.parent_path();
  const std::string signer =
      sign_checksums(dir, *request.sign_key, orchestrator_options(request.global, request.keep_requests), progress);
  log.info("Signed " + (dir / kChecksumFile).string() + " with key " + signer + " (" + kSignatureFile + ")");
}

void report_outputs(ProgressReporter& progress, const std::vector<PublishedFile>& published) {
  nlohmann::json artifacts = nlohmann::json::array();
  for (const PublishedFile& f : published) {
    progress.message("info", f.path.string() + " (" + human_size(f.size) + ")");
    artifacts.push_back({{"path", f.path.string()}, {"size", f.size}, {"sha256", f.sha256}});
  }
  const fs::path sums = published.empty() ? fs::path() : published.front().path.parent_path() / kChecksumFile;
  progress.build_finished(true, "Image build completed successfully",
                          {{"artifacts", artifacts}, {"checksums", sums.string()}});
}

int run_lock(const LockRequest& request, Logger& log) {
  const config::ProviderData provider = load_provider_for(request.image, request.global);
  require_host_tools(family_for(provider).host_tools());
  // The cache's shared lock first: a cache clean never sees this run's directory unlocked.
  PackageCache cache(request.global.cache_dir, CacheAccess::kBuild);  // keeps the decompressed indexes
  Workspace workspace(request.global.work_dir / provider.id / "builds");
  // The lockfile may go to stdout: progress goes to stderr.
  ProgressReporter progress(choose_progress_mode(false, stderr), stderr);
  progress.build_started("Resolving packages for " + provider.id, 3);
  log_warnings(cache.warnings(), log);
  Orchestrator orchestrator(orchestrator_options(request.global, std::nullopt), progress);
  PipelineOptions options{.workspace = workspace.dir(),
                          .workers = static_cast<std::uint32_t>(request.global.workers),
                          .cache = &cache};
  Resolution resolution;
  try {
    resolution = resolve(orchestrator, provider, request.image, options);
  } catch (const base::Error&) {
    progress.timing_table(timing_rows({&orchestrator}));
    throw;
  }
  progress.timing_table(timing_rows({&orchestrator}));
  report_index_cache(resolution, log);
  if (request.output) {
    // Locking again over a lockfile: the repositories' keys must not change.
    if (fs::exists(*request.output)) require_same_signers(read_lockfile(*request.output), resolution.lock, request.output->string());
    write_lockfile(*request.output, resolution.lock);
    log.info("Wrote " + std::to_string(resolution.lock.packages.size()) + " packages to " + request.output->string());
  } else {
    std::fputs(lockfile_to_json(resolution.lock).c_str(), stdout);
  }
  return 0;
}

ImageKind image_kind(const config::ImageTemplate& image) {
  const std::string type = target_of(image).image_type.value_or("raw");
  if (type == "raw") return ImageKind::kRaw;
  if (type == "img") return ImageKind::kInitrd;
  if (type == "iso") return ImageKind::kIso;
  throw base::Error(base::ErrorKind::kInvalidInput, "Unknown target.imageType '" + type + "': use raw, img or iso");
}

int run_build(const BuildRequest& request, Logger& log) {
  require_image_fields(request.image);
  config::require_buildable(request.image);
  switch (image_kind(request.image)) {
    case ImageKind::kRaw: return run_image_build(request, raw_steps(request.image), log);
    case ImageKind::kInitrd: return run_initrd_build(request, log);
    case ImageKind::kIso: return run_iso_build(request, log);
  }
  throw base::Error(base::ErrorKind::kFailed, "unknown image kind");
}

int run_image_build(const BuildRequest& request, const ImageSteps& steps, Logger& log) {
  const config::ProviderData provider = load_provider_for(request.image, request.global);
  require_shim_data(request.image, provider);
  const PackageFamily& family = family_for(provider);
  std::vector<HostTool> tools = family.host_tools();
  for (HostTool& tool : image_tools(request.image, family.name())) tools.push_back(std::move(tool));
  require_host_tools(tools);
  check_additional_files(request.image,
                         additional_file_roots(request.image, provider.os_dir, request.allow_outside_files));
  // The cache's shared lock first: a cache clean never sees this build's directory unlocked.
  PackageCache cache(request.global.cache_dir, CacheAccess::kBuild);
  Workspace workspace(request.global.work_dir / provider.id / "builds");
  log_warnings(cache.warnings(), log);
  ProgressReporter progress(choose_progress_mode(request.json, stdout), stdout);
  progress.build_started("Building " + provider.id + " image from " + request.template_path.string(), 0);
  PipelineOptions options{.workspace = workspace.dir(),
                          .workers = static_cast<std::uint32_t>(request.global.workers),
                          .dot_graph = request.dotfile.has_value(),
                          .dot_system_only = request.system_packages_only,
                          .cache = &cache,
                          .package_keys = family.package_keys(provider, request.image)};

  Orchestrator resolution_run(orchestrator_options(request.global, request.keep_requests), progress);
  Orchestrator package_run(orchestrator_options(request.global, request.keep_requests), progress);
  Orchestrator image_run(orchestrator_options(request.global, request.keep_requests), progress);
  auto report_timings = [&] { progress.timing_table(timing_rows({&resolution_run, &package_run, &image_run})); };
  try {
    const Lockfile lock =
        lock_for(request.image, request.lockfile, request.dotfile, provider, resolution_run, options, log);
    const InputDigest digest = image_input_digest(request, provider, lock, steps.stages);
    const fs::path output_dir =
        image_output_dir(request.global.work_dir, provider.id, *request.image.system_config->name);
    if (hand_back_outputs(request, provider, output_dir, lock, digest, progress, log, report_timings)) return 0;
    const PackageFiles files = fetch_packages(package_run, family, lock, cache, options, log);
    check_archives(package_run, lock, cache, files, log);
    // Every identifier of the disk from the template and the lockfile (reproducible.hpp).
    const DiskLayout layout =
        steps.plan_layout ? steps.plan_layout(derived_uuids(build_seed(request.image, lock))) : steps.layout;
    const ImageResults results =
        make_image(image_run, request, provider, lock, files, cache, workspace.dir(), layout, steps.add_jobs, log);
    const std::vector<PublishedFile> published = publish(request, provider, lock, results, digest, log);
    report_timings();
    sign_outputs(request, progress, published, log);
    report_outputs(progress, published);
    return 0;
  } catch (const base::Error&) {
    report_timings();
    throw;
  }
}

int run_fetch(const FetchRequest& request, Logger& log) {
  const config::ProviderData provider = load_provider_for(request.image, request.global);
  const PackageFamily& family = family_for(provider);
  require_host_tools(family.host_tools());
  // The cache's shared lock first: a cache clean never sees this build's directory unlocked.
  PackageCache cache(request.global.cache_dir, CacheAccess::kBuild);
  Workspace workspace(request.global.work_dir / provider.id / "builds");
  log_warnings(cache.warnings(), log);
  ProgressReporter progress(choose_progress_mode(false, stdout), stdout);
  progress.build_started("Fetching the packages of " + provider.id + " image " + request.template_path.string(), 0);
  const PipelineOptions options{.workspace = workspace.dir(),
                                .workers = static_cast<std::uint32_t>(request.global.workers),
                                .cache = &cache,
                                .package_keys = family.package_keys(provider, request.image)};
  Orchestrator resolution_run(orchestrator_options(request.global, std::nullopt), progress);
  Orchestrator package_run(orchestrator_options(request.global, std::nullopt), progress);
  auto report_timings = [&] { progress.timing_table(timing_rows({&resolution_run, &package_run})); };
  try {
    const Lockfile lock = lock_for(request.image, request.lockfile, std::nullopt, provider, resolution_run, options, log);
    const PackageFiles files = fetch_packages(package_run, family, lock, cache, options, log);
    if (request.check_archives) check_archives(package_run, lock, cache, files, log);
  } catch (const base::Error&) {
    report_timings();
    throw;
  }
  report_timings();
  progress.build_finished(true, "Packages fetched into " + cache.root().string());
  return 0;
}

}  // namespace supervisor
