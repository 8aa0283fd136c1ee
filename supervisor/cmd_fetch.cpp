// `fetch TEMPLATE [--lockfile FILE]`: download and verify every package of
// the image into the cache, and stop there (e.g. to fill a cache before an
// offline build). Packages are hashed as apt hashes them; --check-archives
// also runs the archive-content check a build would run before installing.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "config/load.hpp"
#include "config/provider.hpp"
#include "ipc/error.hpp"
#include "supervisor/archive_checks.hpp"
#include "supervisor/cli.hpp"
#include "supervisor/deb_pipeline.hpp"
#include "supervisor/host_tools.hpp"
#include "supervisor/lockfile.hpp"
#include "supervisor/orchestrator.hpp"
#include "supervisor/package_cache.hpp"
#include "supervisor/progress.hpp"
#include "supervisor/repositories.hpp"
#include "supervisor/workspace.hpp"

namespace supervisor::cli {
namespace {
namespace fs = std::filesystem;

void add_fetch_options(po::options_description& options) {
  options.add_options()
      ("lockfile", po::value<std::string>()->value_name("FILE"), "fetch the package versions pinned in FILE")
      ("workers,w", po::value<int>()->value_name("N"), "parallel downloads (1..100; overrides the config)")
      ("cache-dir,d", po::value<std::string>()->value_name("DIR"), "package cache (overrides the config)")
      ("check-archives", po::bool_switch(), "also check each package's archive contents, as a build does");
}

config::GlobalConfig effective_config(const Invocation& inv) {
  config::GlobalConfig global = inv.global;
  if (inv.options.count("workers")) {
    const int workers = inv.options["workers"].as<int>();
    ipc::require(workers >= config::kMinWorkers && workers <= config::kMaxWorkers,
                 "invalid --workers " + std::to_string(workers) + " (expected 1..100)");
    global.workers = workers;
  }
  if (inv.options.count("cache-dir")) global.cache_dir = fs::absolute(inv.options["cache-dir"].as<std::string>());
  return global;
}

config::ProviderData provider_of(const config::ImageTemplate& image, const config::GlobalConfig& global) {
  ipc::require(image.target.has_value(), "the template has no target");
  const config::Target& t = *image.target;
  config::ProviderOptions options;
  options.skip_host_apt = !image.package_repositories.empty();
  return config::load_provider(global.config_dir, t.os.value_or(""), t.dist.value_or(""), t.arch.value_or(""),
                               options);
}

std::vector<ProgressReporter::TimingRow> timing_rows(const std::vector<const Orchestrator*>& runs) {
  std::vector<ProgressReporter::TimingRow> rows;
  for (const Orchestrator* run : runs) {
    for (const auto& t : run->timings()) rows.push_back({t.name, t.stage, t.elapsed, t.ok});
  }
  return rows;
}

// The package set: pinned by --lockfile, else resolved now (as `build` does).
Lockfile fetch_lock(const Invocation& inv, const config::ImageTemplate& image, const config::ProviderData& provider,
                    Orchestrator& run, const DebPipelineOptions& options) {
  if (inv.options.count("lockfile")) {
    const fs::path file = inv.options["lockfile"].as<std::string>();
    Lockfile lock = read_lockfile(file);
    ipc::require(lock.provider_id == provider.id, "lockfile '" + file.string() + "' is for '" + lock.provider_id +
                                                      "', the template builds '" + provider.id + "'");
    inv.log.info("Using " + std::to_string(lock.packages.size()) + " packages pinned in " + file.string());
    return lock;
  }
  DebResolution resolution;
  const std::vector<DebRepository> repos = deb_repositories(provider, image);
  add_resolution_jobs(run, provider, image, repos, options, resolution);
  run.run();
  return std::move(resolution.lock);
}

int run_fetch(const Invocation& inv) {
  const fs::path path = inv.args.at(0);
  const std::string ext = path.extension().string();
  ipc::require(ext == ".yml" || ext == ".yaml",
               "Failed to load template '" + path.string() + "': expected a .yml or .yaml file");
  const config::GlobalConfig global = effective_config(inv);
  config::LoadedTemplate loaded = config::load_merged_template(path, {.config_dir = global.config_dir});
  for (const std::string& w : loaded.warnings) inv.log.warn(w);
  require_host_tools(repository_tools());
  const config::ProviderData provider = provider_of(loaded.tmpl, global);
  Workspace workspace(global.work_dir / provider.id / "builds");
  PackageCache cache(global.cache_dir, CacheAccess::kBuild);
  ProgressReporter progress(choose_progress_mode(false, stdout), stdout);
  progress.build_started("Fetching the packages of " + provider.id + " image " + path.string(), 0);
  OrchestratorOptions run_options;
  run_options.max_parallel = std::max<long>(2, ::sysconf(_SC_NPROCESSORS_ONLN));
  Orchestrator resolution_run(run_options, progress);
  Orchestrator package_run(run_options, progress);
  const DebPipelineOptions options{.workspace = workspace.dir(), .workers = static_cast<std::uint32_t>(global.workers)};
  auto report_timings = [&] { progress.timing_table(timing_rows({&resolution_run, &package_run})); };
  try {
    const Lockfile lock = fetch_lock(inv, loaded.tmpl, provider, resolution_run, options);
    PackageFiles files;
    add_package_jobs(package_run, lock, cache, options, "", files);
    package_run.run();
    for (const auto& message : files.evicted) inv.log.warn(message);
    inv.log.info(std::to_string(lock.packages.size()) + " packages verified in the cache (" +
                 std::to_string(files.downloaded) + " downloaded, " + std::to_string(files.reused) + " reused)");
    if (inv.options["check-archives"].as<bool>()) check_archives(package_run, lock, cache, files, inv.log);
  } catch (const ipc::Error&) {
    report_timings();
    throw;
  }
  report_timings();
  progress.build_finished(true, "Packages fetched into " + cache.root().string());
  return kExitOk;
}

}  // namespace

std::vector<Verb> fetch_verbs() {
  return {
      Verb{.name = "fetch", .arguments = "TEMPLATE",
           .summary = "Download and verify every package of the image into the cache (e.g. before an offline build)",
           .min_args = 1, .max_args = 1, .add_options = add_fetch_options, .run = run_fetch},
  };
}

}  // namespace supervisor::cli
