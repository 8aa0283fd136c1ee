// `lock` and `build`: the steps of a build as a linear list, each a call
// that adds stage jobs to an orchestrator and runs them.
#include "supervisor/build.hpp"

#include <unistd.h>

#include <fstream>

#include "config/provider.hpp"
#include "ipc/error.hpp"
#include "supervisor/deb_pipeline.hpp"
#include "supervisor/host_tools.hpp"
#include "supervisor/lockfile.hpp"
#include "supervisor/orchestrator.hpp"
#include "supervisor/package_cache.hpp"
#include "supervisor/progress.hpp"
#include "supervisor/repositories.hpp"
#include "supervisor/workspace.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

const config::Target& target_of(const config::ImageTemplate& image) {
  ipc::require(image.target.has_value(), "the template has no target");
  return *image.target;
}

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
    for (const auto& t : run->timings()) rows.push_back({t.name, t.stage, t.elapsed, t.ok});
  }
  return rows;
}

// Runs the resolution jobs; the orchestrator is kept for the timing table.
DebResolution resolve(Orchestrator& orchestrator, const config::ProviderData& provider,
                      const config::ImageTemplate& image, const std::vector<DebRepository>& repos,
                      const DebPipelineOptions& options) {
  DebResolution resolution;
  add_resolution_jobs(orchestrator, provider, image, repos, options, resolution);
  orchestrator.run();
  return resolution;
}

void write_dotfile(const fs::path& path, const std::string& graph) {
  std::ofstream out(path, std::ios::trunc);
  out << graph;
  out.close();
  if (!out) throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to write the dependency graph '" + path.string() + "'");
}

}  // namespace

int run_lock(const LockRequest& request, Logger& log) {
  require_host_tools(repository_tools());
  const config::ProviderData provider = load_provider_for(request.image, request.global);
  const std::vector<DebRepository> repos = deb_repositories(provider, request.image);
  Workspace workspace(request.global.work_dir / provider.id / "builds");
  // The lockfile may go to stdout: progress goes to stderr.
  ProgressReporter progress(choose_progress_mode(false, stderr), stderr);
  progress.build_started("Resolving packages for " + provider.id, 3);
  Orchestrator orchestrator(orchestrator_options(request.global, std::nullopt), progress);
  DebPipelineOptions options{.workspace = workspace.dir(), .workers = static_cast<std::uint32_t>(request.global.workers)};
  DebResolution resolution;
  try {
    resolution = resolve(orchestrator, provider, request.image, repos, options);
  } catch (const ipc::Error&) {
    progress.timing_table(timing_rows({&orchestrator}));
    throw;
  }
  progress.timing_table(timing_rows({&orchestrator}));
  if (request.output) {
    write_lockfile(*request.output, resolution.lock);
    log.info("Wrote " + std::to_string(resolution.lock.packages.size()) + " packages to " + request.output->string());
  } else {
    std::fputs(lockfile_to_json(resolution.lock).c_str(), stdout);
  }
  return 0;
}

int run_build(const BuildRequest& request, Logger& log) {
  require_host_tools(repository_tools());
  const config::ProviderData provider = load_provider_for(request.image, request.global);
  Workspace workspace(request.global.work_dir / provider.id / "builds");
  PackageCache cache(request.global.cache_dir, CacheAccess::kBuild);
  ProgressReporter progress(choose_progress_mode(request.json, stdout), stdout);
  progress.build_started("Building " + provider.id + " image from " + request.template_path.string(), 0);
  DebPipelineOptions options{.workspace = workspace.dir(),
                             .workers = static_cast<std::uint32_t>(request.global.workers),
                             .dot_graph = request.dotfile.has_value(),
                             .dot_system_only = request.system_packages_only};

  Orchestrator resolution_run(orchestrator_options(request.global, request.keep_requests), progress);
  Orchestrator package_run(orchestrator_options(request.global, request.keep_requests), progress);
  auto report_timings = [&] { progress.timing_table(timing_rows({&resolution_run, &package_run})); };
  try {
    Lockfile lock;
    if (request.lockfile) {
      lock = read_lockfile(*request.lockfile);
      ipc::require(lock.provider_id == provider.id, "lockfile '" + request.lockfile->string() + "' is for '" +
                                                        lock.provider_id + "', the template builds '" + provider.id + "'");
      log.info("Using " + std::to_string(lock.packages.size()) + " packages pinned in " + request.lockfile->string());
    } else {
      const std::vector<DebRepository> repos = deb_repositories(provider, request.image);
      DebResolution resolution = resolve(resolution_run, provider, request.image, repos, options);
      if (request.dotfile) write_dotfile(*request.dotfile, resolution.dot_graph);
      lock = std::move(resolution.lock);
    }
    PackageFiles files;
    add_package_jobs(package_run, lock, cache, options, "", files);
    package_run.run();
    for (const auto& message : files.evicted) log.warn(message);
    log.info(std::to_string(lock.packages.size()) + " packages verified in the cache (" +
             std::to_string(files.downloaded) + " downloaded, " + std::to_string(files.reused) + " reused)");
    throw ipc::Error(ipc::ErrorKind::kUnimplemented,
                     "the package set is fetched and verified; installing it into an image needs the installer "
                     "stage, which this build does not have yet");
  } catch (const ipc::Error&) {
    report_timings();
    throw;
  }
}

}  // namespace supervisor
