// The Debian-family steps of a build as stage jobs:
//
//   fetch-metadata -> verify-metadata -> resolve -> fetch-packages-1 -> verify-packages-1
//                                                  fetch-packages-2 -> verify-packages-2 ...
//   (fetch-packages-N also waits for N-1, verify-packages-N for N-1)
//
// Only the fetcher touches the network; indexes are used only after the
// verifier accepted their signatures and hashes, and packages enter the cache
// only after the verifier accepted their hashes and archive contents.
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
};

// What resolution produced; filled when the resolve job succeeds.
struct DebResolution {
  Lockfile lock;
  std::string dot_graph;
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

// Adds the jobs that bring every package of `lock` into `cache` (verified),
// after job `after` (empty: at once), and fills `out`. Packages already
// cached are re-hashed, not downloaded. The rest is split into at least
// `batches` batches of similar byte size, largest packages first; fetch jobs
// run one after another, and so do verify jobs (each uses every core), the
// verifier checking batch N while later batches download. Each object's
// cache lock is held from before its download until it is committed, so a
// second build sharing the cache waits for it instead of fetching it again.
void add_package_jobs(Orchestrator& orchestrator, const Lockfile& lock, PackageCache& cache,
                      const DebPipelineOptions& options, const std::string& after, PackageFiles& out,
                      std::size_t batches = 4);

}  // namespace supervisor
