// The Debian-family steps of a build as stage jobs:
//
//   fetch-metadata -> verify-metadata -> resolve -> fetch-packages-1 -> verify-packages-1
//                                                                     -> verify-packages-2 ...
//   (verify-packages-N also waits for N-1; one fetch job unless asked for more)
//
//   ... then, once every package is in the cache: check-archives (archive_checks.hpp)
//
// Only the fetcher touches the network; indexes are used only after the
// verifier accepted their signatures and hashes, and packages enter the cache
// only after the verifier accepted their hashes (as apt does). Their archive
// contents are checked apart, before anything installs them: check-archives
// walks every package whose cache object has no archive-check marker yet.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/lockfile.hpp"
#include "supervisor/orchestrator.hpp"
#include "supervisor/package_cache.hpp"
#include "supervisor/repositories.hpp"

namespace supervisor {

struct DebPipelineOptions {
  std::filesystem::path workspace;     // this build's private directory
  std::uint32_t workers = 8;           // parallel downloads per fetcher
  // One download attempt's time limit; unset: $OIC_FETCH_FILE_TIMEOUT
  // (whole seconds, 1..86400), else 300 s.
  std::optional<std::uint32_t> file_timeout_sec;
  bool dot_graph = false;
  bool dot_system_only = false;
  // Keeps verified decompressed indexes in its metadata/ between builds;
  // unset: each build decompresses into its workspace.
  PackageCache* cache = nullptr;
};

// What resolution produced; filled when the resolve job succeeds.
struct DebResolution {
  Lockfile lock;
  std::string dot_graph;
  std::size_t indexes_cached = 0;        // decompressed copies reused from the cache
  std::size_t indexes_decompressed = 0;  // decompressed by the verifier in this run
  std::vector<std::string> cache_refusals;  // cached copies found corrupt (and replaced)
  std::vector<std::string> warnings;        // keys trusted on first use, with their fingerprints
};

// The packages the template asks for, in the order: essential set of the
// provider's build environment, kernel, system packages. "name_version"
// becomes a pin.
struct RequestedPackage {
  std::string name;
  std::string version_pin;  // "= 1.2-3" or empty
  ipc::proto::PackageSource source;
};
std::vector<RequestedPackage> requested_packages(const config::ProviderData& provider,
                                                 const config::ImageTemplate& image);

// The per-attempt download time limit `options` resolves to (see
// DebPipelineOptions::file_timeout_sec); a malformed variable is kInvalidInput.
std::uint32_t file_timeout_sec(const DebPipelineOptions& options);

// Adds fetch-metadata, verify-metadata and resolve; `out` is filled by the
// time Orchestrator::run() returns without throwing.
void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                         const config::ImageTemplate& image, const std::vector<DebRepository>& repos,
                         const DebPipelineOptions& options, DebResolution& out);

// Where each package of a build is, verified, in the cache.
struct PackageFiles {
  std::map<std::string, std::filesystem::path> by_name;
  std::size_t downloaded = 0;
  std::size_t reused = 0;
  std::uint64_t bytes_downloaded = 0;
  std::vector<std::string> evicted;  // corrupt cache objects found (and removed)
};

// Adds the jobs that bring every package of `lock` into `cache` (its sha256
// and size verified, as apt does; archive contents are checked apart, see
// archive_checks.hpp), after job `after` (empty: at once), and fills `out`.
// Packages already cached are re-hashed, not downloaded. The rest is
// fetched by `batches` fetch jobs (default one: a single fetcher keeps every
// connection busy to the end), run one after another, and hashed by verify
// jobs of at most 30 packages each (one fd per package in a request), run one
// after another as their packages arrive. Each object's cache lock is held
// from before its download until it is committed, so a second build sharing
// the cache waits for it instead of fetching it again.
void add_package_jobs(Orchestrator& orchestrator, const Lockfile& lock, PackageCache& cache,
                      const DebPipelineOptions& options, const std::string& after, PackageFiles& out,
                      std::size_t batches = 1);

}  // namespace supervisor
