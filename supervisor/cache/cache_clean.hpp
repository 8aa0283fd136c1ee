// `cache clean`: what goes, by scope, under the package cache's maintenance
// lock (it fails at once while a build holds the cache, so nothing below is
// removed under a live build).
//
//   packages   <cache_dir>/{metadata,packages,tmp} and <cache_dir>/buildenv;
//              with a provider: the objects only that provider's builds used
//              (provider_records.hpp), its record, and its build environments
//   workspace  scratch only: <work_dir>/<provider-id>/builds (the private
//              directories of builds a kill left behind) and the build
//              environments of <cache_dir>/buildenv
//   outputs    <work_dir>/<provider-id>/imagebuild: finished images, and
//              reproducibility-check: the second builds' outputs that
//              `build --check-reproducible` kept; only ever removed when
//              asked for by name (--outputs)
//
// A provider directory, or a tree in it, that is a symlink is not entered.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace supervisor {

struct CacheCleanRequest {
  std::filesystem::path cache_dir;
  std::filesystem::path work_dir;
  bool packages = false;
  bool workspace = false;
  bool outputs = false;
  std::optional<std::string> provider_id;  // narrows every scope to one os-dist-arch
  bool dry_run = false;
};

struct CacheCleanResult {
  std::vector<std::filesystem::path> removed;  // or, with dry_run, would be removed
  std::vector<std::filesystem::path> missing;  // in the scope but not there
  std::vector<std::string> warnings;           // directory modes the cache had to tighten
};

// Throws base::Error(kInvalidInput) for an invalid provider id and
// kOverloaded while a build holds the cache.
CacheCleanResult clean_cache(const CacheCleanRequest& request);

}  // namespace supervisor
