#include "supervisor/cache/cache_clean.hpp"

#include <algorithm>
#include <memory>

#include "base/error.hpp"
#include "sandbox/tree_removal.hpp"
#include "supervisor/cache/build_env_cache.hpp"
#include "supervisor/cache/initramfs_store.hpp"
#include "supervisor/cache/package_cache.hpp"
#include "supervisor/cache/provider_records.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

bool is_real_directory(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() == fs::file_type::directory;
}

void append(std::vector<fs::path>& to, const std::vector<fs::path>& from) { to.insert(to.end(), from.begin(), from.end()); }

// Provider directories under work_dir: real directories only, sorted.
std::vector<std::string> provider_dirs(const fs::path& work_dir) {
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(work_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (is_real_directory(it->path())) ids.push_back(it->path().filename().string());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The named trees of each provider directory (or of the one asked for).
std::vector<fs::path> work_trees(const CacheCleanRequest& r, const std::vector<std::string>& names) {
  const std::vector<std::string> ids = r.provider_id ? std::vector{*r.provider_id} : provider_dirs(r.work_dir);
  std::vector<fs::path> trees;
  for (const std::string& id : ids) {
    for (const std::string& name : names) trees.push_back(r.work_dir / id / name);
  }
  return trees;
}

// Removes each tree that is a real directory in a real provider directory;
// a symlink is never entered. Builds' trees hold files of subordinate ids,
// hence sandbox::remove_tree.
void remove_trees(const std::vector<fs::path>& trees, bool dry_run, CacheCleanResult& out) {
  for (const fs::path& tree : trees) {
    if (!is_real_directory(tree.parent_path()) || !is_real_directory(tree)) {
      out.missing.push_back(tree);
      continue;
    }
    if (!dry_run) sandbox::remove_tree(tree);
    out.removed.push_back(tree);
  }
}

void clean_packages(PackageCache& cache, const CacheCleanRequest& r, CacheCleanResult& out) {
  CleanReport report;
  if (r.provider_id) {
    report = cache.clean_objects(objects_only_of(r.cache_dir, *r.provider_id), r.dry_run);
    const fs::path record = provider_record_path(r.cache_dir, *r.provider_id);
    std::error_code ec;
    if (fs::is_regular_file(fs::symlink_status(record, ec))) {
      if (!r.dry_run) fs::remove(record);
      report.removed.push_back(record);
    } else {
      report.missing.push_back(record);  // no build of this provider recorded what it used
    }
  } else {
    report = cache.clean(CleanScope{.packages = true, .metadata = true, .staging = true}, r.dry_run);
  }
  append(out.removed, report.removed);
  append(out.missing, report.missing);
}

}  // namespace

CacheCleanResult clean_cache(const CacheCleanRequest& request) {
  CacheCleanRequest r = request;
  r.cache_dir = fs::absolute(r.cache_dir);
  r.work_dir = fs::absolute(r.work_dir);
  if (r.provider_id) {
    base::require(is_provider_id(*r.provider_id),
                  "invalid --provider-id '" + *r.provider_id + "' (expected os-dist-arch, e.g. debian-debian12-x86_64)");
  }
  CacheCleanResult out;
  // Held to the end: no build starts while trees go. A missing cache has
  // no build using it and nothing to clean.
  std::unique_ptr<PackageCache> cache;
  if (is_real_directory(r.cache_dir)) {
    cache = std::make_unique<PackageCache>(r.cache_dir, CacheAccess::kMaintenance);
    out.warnings = cache->warnings();
  }
  if (r.packages) {
    if (cache) clean_packages(*cache, r, out);
    else if (!r.provider_id) for (const char* name : {"metadata", "packages", "tmp"}) out.missing.push_back(r.cache_dir / name);
  }
  if (cache && (r.packages || r.workspace)) append(out.removed, clean_build_envs(r.cache_dir, r.provider_id, r.dry_run));
  // Kept initramfs images are not recorded per provider (and at most kInitramfsKept).
  if (cache && (r.packages || r.workspace) && !r.provider_id) {
    append(out.removed, clean_initramfs_store(r.cache_dir, r.dry_run));
  }
  if (r.workspace) remove_trees(work_trees(r, {"builds"}), r.dry_run, out);
  if (r.outputs) remove_trees(work_trees(r, {"imagebuild", "reproducibility-check"}), r.dry_run, out);
  return out;
}

}  // namespace supervisor
