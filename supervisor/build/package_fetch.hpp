// The family-free half of getting packages: every package of a lock
// downloaded by URL into a staging directory, its sha256 and size checked by
// the verifier, committed to the cache. Whatever the family, a lock names
// each package by URL, sha256 and size, and this is all a build needs of it
// to have the package file.
//
//   fetch-packages-1 -> verify-packages-1 -> verify-packages-2 ...
//   (verify-packages-N also waits for N-1; one fetch job unless asked for more)
//
// Only the fetcher touches the network; packages enter the cache only after
// the verifier accepted their hashes (as apt and dnf do). Their archive
// contents are checked apart (archive_checks.hpp).
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "stages/fetcher/client.hpp"
#include "stages/verifier/client.hpp"
#include "supervisor/build/lockfile.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/cache/package_cache.hpp"

namespace supervisor {

// The keys a repository's packages must be signed by (the RPM family: each
// package carries its own signature), as local files with an optional pin.
struct RepositoryKeyFiles {
  std::string repo;
  std::vector<std::pair<std::filesystem::path, std::string>> keys;  // file, fingerprint pin or empty
};
using PackageKeys = std::vector<RepositoryKeyFiles>;

// What the fetch, verify and resolve jobs of one build share.
struct PipelineOptions {
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
  // Set by a family whose packages are signed (PackageFamily::package_keys):
  // every package check names them to the verifier.
  std::optional<PackageKeys> package_keys;
};

// The per-attempt download time limit `options` resolves to (see
// PipelineOptions::file_timeout_sec); a malformed variable is kInvalidInput.
std::uint32_t file_timeout_sec(const PipelineOptions& options);

// A fetch request with no downloads yet: workers, retries, time limit,
// proxies and user agent.
stage::fetcher::client::Request fetch_request(const PipelineOptions& options);

// The verifier's entry for one locked package whose file is `file`: its
// sha256 and size as the lock names them.
stage::verifier::client::PackageFile package_to_verify(const LockedPackage& package, ipc::FdReference file);

// The lock's repositories whose packages no signature anchors: no signer
// recorded (marked trusted) and no key in `keys` for their packages. Their
// downloads are requested with CheckedBy::kNothing, for the fetcher's plain
// http warning.
std::set<std::string> unsigned_repositories(const Lockfile& lock, const std::optional<PackageKeys>& keys);

// Names `keys` (when set) in a verifier request that checks package files:
// each package's signature must be by a key of its repository.
void add_package_keys(PreparedRequest& p, const std::optional<PackageKeys>& keys,
                      stage::verifier::client::Request& out);

// A file a stage wrote into a directory it was given: a link planted under
// its name is not followed, and a FIFO does not block the open.
inline constexpr int kFetchedFile = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

// Where each package of a build is, verified, in the cache.
struct PackageFiles {
  std::map<std::string, std::filesystem::path> by_name;
  std::size_t downloaded = 0;
  std::size_t reused = 0;
  std::uint64_t bytes_downloaded = 0;
  std::vector<std::string> evicted;  // corrupt cache objects found (and removed)
  std::optional<PackageKeys> package_keys;  // PipelineOptions::package_keys, for the archive checks
};

// Adds the jobs that bring every package of `lock` into `cache` (its sha256
// and size verified; archive contents are checked apart, see
// archive_checks.hpp), after job `after` (empty: at once), and fills `out`.
// Staged downloads are named <sha256><package_suffix> (".deb").
// Packages already cached are re-hashed, not downloaded. The rest is
// fetched by `batches` fetch jobs (default one: a single fetcher keeps every
// connection busy to the end), run one after another, and hashed by verify
// jobs of at most 30 packages each (one fd per package in a request), run one
// after another as their packages arrive. Each object's cache lock is held
// from before its download until it is committed, so a second build sharing
// the cache waits for it instead of fetching it again.
void add_package_jobs(Orchestrator& orchestrator, const Lockfile& lock, PackageCache& cache,
                      const PipelineOptions& options, std::string_view package_suffix, const std::string& after,
                      PackageFiles& out, std::size_t batches = 1);

}  // namespace supervisor
