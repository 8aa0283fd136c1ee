// `cache clean`: the scope flags as supervisor/cache/cache_clean.hpp takes
// them, and the list of what went (or would go). Finished images under
// <work_dir>/<provider-id>/imagebuild are never part of --workspace or
// --all: only --outputs removes them.
#include "supervisor/cache/cache_clean.hpp"
#include "supervisor/cli/cli.hpp"

namespace supervisor::cli {
namespace {
namespace fs = std::filesystem;

void add_clean_options(po::options_description& options) {
  options.add_options()
      ("packages", po::bool_switch(),
       "remove downloaded packages, repository indexes and cached build environments (the default)")
      ("workspace", po::bool_switch(),
       "remove build scratch under work_dir and cached build environments; finished images are kept")
      ("all", po::bool_switch(), "--packages and --workspace (finished images are kept)")
      ("outputs", po::bool_switch(), "remove finished images: <work_dir>/<provider-id>/imagebuild and reproducibility-check")
      ("provider-id", po::value<std::string>()->value_name("ID"),
       "only what belongs to this provider (os-dist-arch), in every scope")
      ("dry-run", po::bool_switch(), "list exactly what would be removed, remove nothing");
}

CacheCleanRequest clean_request(const Invocation& inv) {
  const bool all = inv.options["all"].as<bool>();
  CacheCleanRequest r{.cache_dir = inv.global.cache_dir, .work_dir = inv.global.work_dir};
  r.workspace = all || inv.options["workspace"].as<bool>();
  r.outputs = inv.options["outputs"].as<bool>();
  r.packages = all || inv.options["packages"].as<bool>() || (!r.workspace && !r.outputs);
  if (inv.options.count("provider-id")) r.provider_id = inv.options["provider-id"].as<std::string>();
  r.dry_run = inv.options["dry-run"].as<bool>();
  return r;
}

void print_list(std::ostream& out, std::string_view title, const std::vector<fs::path>& paths) {
  if (paths.empty()) return;
  out << title << "\n";
  for (const auto& p : paths) out << "  " << p.string() << "\n";
}

int run_cache_clean(const Invocation& inv) {
  const CacheCleanRequest request = clean_request(inv);
  const CacheCleanResult result = clean_cache(request);
  for (const std::string& warning : result.warnings) inv.log.warn(warning);
  print_list(inv.out, request.dry_run ? "Would remove:" : "Removed paths:", result.removed);
  print_list(inv.out, "Skipped (not found):", result.missing);
  if (result.removed.empty() && result.missing.empty()) inv.out << "Nothing to clean.\n";
  return kExitOk;
}

}  // namespace

std::vector<Verb> cache_verbs() {
  return {Verb{.name = "cache clean",
               .summary = "Remove cached packages and indexes, build scratch, and (asked by name) finished images",
               .add_options = add_clean_options, .run = run_cache_clean}};
}

}  // namespace supervisor::cli
