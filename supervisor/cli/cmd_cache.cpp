// `cache clean`: removes the package store, repository indexes and staging
// leftovers (through PackageCache, under the cache's exclusive lock, so never
// under a live build), build environments under cache_dir, and/or the
// per-provider build trees under work_dir. Removal goes through directory fds
// with O_NOFOLLOW, so a symlink inside these trees is removed as a link and
// never followed out of them.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/cache/build_env_cache.hpp"
#include "supervisor/cli/cli.hpp"
#include "supervisor/cache/package_cache.hpp"

namespace supervisor::cli {
namespace {
namespace fs = std::filesystem;

// A path to remove: a trusted root (from the config) and a relative part
// that is walked without following symlinks.
struct Target {
  fs::path root;
  fs::path relative;
  fs::path full() const { return root / relative; }
};

void add_clean_options(po::options_description& options) {
  options.add_options()
      ("packages", po::bool_switch(), "remove downloaded packages, repository indexes and cached build environments (the default)")
      ("workspace", po::bool_switch(), "remove build trees under work_dir")
      ("all", po::bool_switch(), "remove both")
      ("provider-id", po::value<std::string>()->value_name("ID"),
       "only the build trees of this provider (os-dist-arch); needs --workspace")
      ("dry-run", po::bool_switch(), "list what would be removed, remove nothing");
}

void require_provider_id(const std::string& id) {
  const bool valid = !id.empty() && id != "." && id != ".." &&
                     std::all_of(id.begin(), id.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                     });
  base::require(valid, "invalid --provider-id '" + id + "' (expected os-dist-arch, e.g. debian-debian12-x86_64)");
}

// Provider directories under work_dir: real directories only, sorted.
std::vector<std::string> provider_dirs(const fs::path& work_dir) {
  std::vector<std::string> ids;
  std::error_code ec;
  for (fs::directory_iterator it(work_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ids.push_back(it->path().filename().string());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool cleans_packages(const Invocation& inv) {
  const bool all = inv.options["all"].as<bool>();
  return all || inv.options["packages"].as<bool>() || !inv.options["workspace"].as<bool>();
}

std::vector<Target> clean_targets(const Invocation& inv) {
  const bool all = inv.options["all"].as<bool>();
  const bool workspace = all || inv.options["workspace"].as<bool>();
  const bool packages = all || inv.options["packages"].as<bool>() || !workspace;
  std::optional<std::string> provider;
  if (inv.options.count("provider-id")) {
    provider = inv.options["provider-id"].as<std::string>();
    require_provider_id(*provider);
    // The package store is shared by every provider, so it cannot be narrowed.
    base::require(!packages, "--provider-id narrows --workspace only; the package store is shared by all providers");
  }
  std::vector<Target> targets;  // the package store is cleaned by PackageCache
  if (workspace) {
    const std::vector<std::string> ids = provider ? std::vector{*provider} : provider_dirs(inv.global.work_dir);
    for (const std::string& id : ids) {
      targets.push_back({inv.global.work_dir, fs::path(id) / "buildenv"});
      targets.push_back({inv.global.work_dir, fs::path(id) / "imagebuild"});
    }
  }
  return targets;
}

// The directory holding the target's last component, opened without
// following symlinks below the root; nullopt when it does not exist.
std::optional<base::UniqueFd> open_parent(const Target& t) {
  const int root = ::open(t.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0 && errno == ENOENT) return std::nullopt;
  base::UniqueFd dir(base::check_syscall(root, "open directory", t.root.string()));
  fs::path shown = t.root;
  for (const auto& part : t.relative.parent_path()) {
    shown /= part;
    const int fd = ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return std::nullopt;
    dir = base::UniqueFd(base::check_syscall(fd, "open directory", shown.string()));
  }
  return dir;
}

bool exists(const Target& t) {
  auto parent = open_parent(t);
  struct stat st {};
  return parent && ::fstatat(parent->get(), t.relative.filename().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void print_list(std::ostream& out, std::string_view title, const std::vector<fs::path>& paths) {
  if (paths.empty()) return;
  out << title << "\n";
  for (const auto& p : paths) out << "  " << p.string() << "\n";
}

// packages/, metadata/ and tmp/ of the cache, under its exclusive lock: it
// fails at once while a build uses the cache.
void clean_package_cache(const fs::path& cache_dir, bool dry_run, std::vector<fs::path>& removed,
                         std::vector<fs::path>& missing, Logger& log) {
  const CleanScope scope{.packages = true, .metadata = true, .staging = true};
  if (!fs::is_directory(cache_dir)) {
    for (const char* name : {"metadata", "packages", "tmp"}) missing.push_back(cache_dir / name);
    return;
  }
  PackageCache cache(cache_dir, CacheAccess::kMaintenance);
  for (const std::string& warning : cache.warnings()) log.warn(warning);
  CleanReport report = cache.clean(scope, dry_run);
  removed.insert(removed.end(), report.removed.begin(), report.removed.end());
  missing.insert(missing.end(), report.missing.begin(), report.missing.end());
}

int run_cache_clean(const Invocation& inv) {
  const bool dry_run = inv.options["dry-run"].as<bool>();
  std::vector<fs::path> removed;
  std::vector<fs::path> missing;
  const std::vector<Target> targets = clean_targets(inv);
  if (cleans_packages(inv)) clean_package_cache(inv.global.cache_dir, dry_run, removed, missing, inv.log);
  for (const Target& t : targets) {
    if (!exists(t)) {
      missing.push_back(t.full());
      continue;
    }
    if (!dry_run) {
      base::ErrorContext ctx{"cleaning", t.full().string()};
      remove_tree_at(open_parent(t)->get(), t.relative.filename().string(), t.full());
    }
    removed.push_back(t.full());
  }
  if (cleans_packages(inv)) {
    // Cached build environments: trees owned by subordinate ids.
    for (const fs::path& p : clean_build_envs(inv.global.cache_dir, dry_run)) removed.push_back(p);
  }
  print_list(inv.out, dry_run ? "Would remove:" : "Removed paths:", removed);
  print_list(inv.out, "Skipped (not found):", missing);
  if (removed.empty() && missing.empty()) inv.out << "Nothing to clean.\n";
  return kExitOk;
}

}  // namespace

std::vector<Verb> cache_verbs() {
  return {Verb{.name = "cache clean",
               .summary = "Remove cached packages and indexes and/or build workspaces",
               .add_options = add_clean_options, .run = run_cache_clean}};
}

}  // namespace supervisor::cli
