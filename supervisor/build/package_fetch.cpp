#include "supervisor/build/package_fetch.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <set>

#include "build_info.hpp"
#include "base/error.hpp"
#include "ipc/framing.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

constexpr const char* kFileTimeoutVariable = "OIC_FETCH_FILE_TIMEOUT";
constexpr std::uint32_t kDefaultFileTimeoutSec = 300;
constexpr std::uint32_t kMaxFileTimeoutSec = 86400;

// Shared by the fetch and verify jobs of one build's packages.
struct PackageBatchState {
  explicit PackageBatchState(StagingArea area) : staging(std::move(area)) {}
  StagingArea staging;
  std::map<std::string, ObjectLock> locks;  // by sha256, held until commit
  std::vector<std::vector<LockedPackage>> batches;  // one per verify job
  // Per verify batch, the directory its fetch job writes: a fetcher sees only
  // its own, so none can touch files another job's verifier accepted.
  std::vector<std::filesystem::path> batch_dirs;
  // Repositories whose packages no signature anchors (marked trusted): no
  // signed index lists their hashes and they carry no checked signature.
  std::set<std::string> unsigned_repos;
};


// A verify request passes one fd per package; FrameLimits::max_fds caps them.
constexpr std::size_t kMaxPackagesPerBatch = ipc::FrameLimits{}.max_fds - 2;

std::string staged_name(const LockedPackage& p, std::string_view suffix) { return p.sha256 + std::string(suffix); }

}  // namespace

std::set<std::string> unsigned_repositories(const Lockfile& lock, const std::optional<PackageKeys>& keys) {
  std::set<std::string> out;
  for (const auto& repo : lock.repositories) {
    const bool package_signed = keys && std::any_of(keys->begin(), keys->end(),
                                                    [&](const RepositoryKeyFiles& k) { return k.repo == repo.name; });
    if (repo.signer_fingerprint.empty() && !package_signed) out.insert(repo.name);
  }
  return out;
}

stage::fetcher::client::Request fetch_request(const PipelineOptions& options) {
  stage::fetcher::client::Request request;
  request.workers = options.workers;
  request.retries = 3;
  request.per_file_timeout_sec = file_timeout_sec(options);
  request.proxy = {env_or_empty("http_proxy"), env_or_empty("https_proxy"), env_or_empty("no_proxy")};
  request.user_agent = std::string("os-image-composer/") + OIC_VERSION;
  return request;
}

std::uint32_t file_timeout_sec(const PipelineOptions& options) {
  if (options.file_timeout_sec) return *options.file_timeout_sec;
  const std::string text = env_or_empty(kFileTimeoutVariable);
  if (text.empty()) return kDefaultFileTimeoutSec;
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  base::require(ec == std::errc() && end == text.data() + text.size() && value >= 1 && value <= kMaxFileTimeoutSec,
               std::string("invalid ") + kFileTimeoutVariable + " '" + text + "': expected whole seconds, 1.." +
                   std::to_string(kMaxFileTimeoutSec));
  return value;
}


namespace {

// The packages of verify batches [first, last), largest first: the longest
// downloads start first.
PreparedRequest fetch_packages_request(const PackageBatchState& state, std::size_t first, std::size_t last,
                                       const PipelineOptions& options, const std::string& suffix) {
  std::vector<const LockedPackage*> wanted;
  for (std::size_t b = first; b < last; ++b) {
    for (const auto& pkg : state.batches[b]) wanted.push_back(&pkg);
  }
  std::stable_sort(wanted.begin(), wanted.end(),
                   [](const LockedPackage* a, const LockedPackage* b) { return a->size > b->size; });
  PreparedRequest p;
  stage::fetcher::client::Request request = fetch_request(options);
  for (const LockedPackage* pkg : wanted) {
    request.downloads.push_back({.url = pkg->url, .dest_name = staged_name(*pkg, suffix),
                                 .expected_sha256 = pkg->sha256, .expected_size = static_cast<std::int64_t>(pkg->size)});
    if (state.unsigned_repos.contains(pkg->repository)) {
      request.downloads.back().checked_by = stage::fetcher::client::CheckedBy::kNothing;
    }
  }
  request.output_dir = p.bind_dir(state.batch_dirs[first], true);
  // A package's hash comes from a signature-checked index, or the package is
  // signed, or its repository is marked trusted (checked_by says which).
  request.allow_plain_http = true;
  stage::fetcher::client::encode(request, p.init_request().initFetcher());
  return p;
}

PreparedRequest verify_packages_request(const PackageBatchState& state, std::size_t b, const std::string& suffix,
                                        const std::optional<PackageKeys>& keys) {
  PreparedRequest p;
  stage::verifier::client::Request request;
  add_package_keys(p, keys, request);
  for (const auto& pkg : state.batches[b]) {
    const int slot = p.add_fd(state.batch_dirs[b] / staged_name(pkg, suffix), kFetchedFile);
    request.packages.push_back(package_to_verify(pkg, ipc::FdReference::of_slot(slot)));
  }
  // Hashes only, as apt does: archive contents are checked by check-archives
  // before anything installs them.
  request.check_archive_contents = false;
  stage::verifier::client::encode(request, p.init_request().initVerifier());
  return p;
}

void commit_verified(const StageOutcome& outcome, PackageBatchState& state, std::size_t b, const std::string& suffix,
                     PackageCache& cache, PackageFiles& out) {
  const auto result = stage::verifier::client::decode(outcome.result_reader().getVerifier());
  if (!result.failures.empty()) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "package " + result.failures[0].item + ": " + result.failures[0].reason);
  }
  for (const auto& pkg : state.batches[b]) {
    auto it = state.locks.find(pkg.sha256);
    base::check(it != state.locks.end(), "no cache lock for package " + pkg.name);
    out.by_name[pkg.name] = cache.commit(it->second, state.batch_dirs[b] / staged_name(pkg, suffix),
                                         pkg.filename.substr(pkg.filename.rfind('/') + 1));
    out.bytes_downloaded += pkg.size;
    ++out.downloaded;
    state.locks.erase(it);
  }
}

}  // namespace

void add_package_keys(PreparedRequest& p, const std::optional<PackageKeys>& keys,
                      stage::verifier::client::Request& out) {
  if (!keys) return;
  out.rpm_package_keys.emplace();
  for (const RepositoryKeyFiles& repo : *keys) {
    auto& entry = out.rpm_package_keys->emplace_back(stage::verifier::client::RepositoryKeys{.repo = repo.repo});
    for (const auto& [file, pin] : repo.keys) {
      entry.keys.push_back({ipc::FdReference::of_slot(p.add_fd(file, O_RDONLY)), pin});
    }
  }
}

stage::verifier::client::PackageFile package_to_verify(const LockedPackage& package, ipc::FdReference file) {
  return {.name = package.name, .repo = package.repository, .file = std::move(file),
          .expected_sha256 = package.sha256, .expected_size = static_cast<std::int64_t>(package.size)};
}

void add_package_jobs(Orchestrator& orchestrator, const Lockfile& lock, PackageCache& cache,
                      const PipelineOptions& options, std::string_view package_suffix, const std::string& after,
                      PackageFiles& out, std::size_t batches) {
  file_timeout_sec(options);  // a malformed variable fails before any stage starts
  out.package_keys = options.package_keys;
  auto state = std::make_shared<PackageBatchState>(cache.make_staging_area());
  state->unsigned_repos = unsigned_repositories(lock, options.package_keys);
  std::vector<LockedPackage> missing;
  for (const auto& pkg : lock.packages) {
    base::ErrorContext context("looking up package", pkg.name, "in the cache");
    if (state->locks.count(pkg.sha256)) continue;
    ObjectLock object = cache.lock_object(pkg.sha256);
    CacheLookup lookup = cache.open_verified(object);
    if (lookup.status == CacheLookup::Status::kHit) {
      out.by_name[pkg.name] = lookup.path;
      ++out.reused;
      continue;
    }
    if (lookup.status == CacheLookup::Status::kEvicted) out.evicted.push_back(lookup.message);
    state->locks.emplace(pkg.sha256, std::move(object));
    missing.push_back(pkg);
  }
  if (missing.empty()) return;

  // Verify batches of at most kMaxPackagesPerBatch (one fd per package in a
  // request), dealt out in turn from the largest package down so their byte
  // sizes are alike; fetch jobs each take a run of whole verify batches.
  std::stable_sort(missing.begin(), missing.end(),
                   [](const LockedPackage& a, const LockedPackage& b) { return a.size > b.size; });
  const std::size_t verify_count = (missing.size() + kMaxPackagesPerBatch - 1) / kMaxPackagesPerBatch;
  state->batches.resize(verify_count);
  state->batch_dirs.resize(verify_count);
  for (std::size_t i = 0; i < missing.size(); ++i) state->batches[i % verify_count].push_back(missing[i]);
  const std::size_t fetch_count = std::clamp<std::size_t>(batches, 1, verify_count);
  std::vector<std::string> fetch_job_of(verify_count);
  for (std::size_t f = 0; f < fetch_count; ++f) {
    const std::size_t first = f * verify_count / fetch_count, last = (f + 1) * verify_count / fetch_count;
    const std::string fetch_job = "fetch-packages-" + std::to_string(f + 1);
    const fs::path fetch_dir = state->staging.dir() / fetch_job;
    base::check_syscall(::mkdir(fetch_dir.c_str(), 0700), "create directory", fetch_dir.string());
    for (std::size_t b = first; b < last; ++b) {
      fetch_job_of[b] = fetch_job;
      state->batch_dirs[b] = fetch_dir;
    }
    std::vector<std::string> fetch_after;
    if (f > 0) fetch_after.push_back("fetch-packages-" + std::to_string(f));
    else if (!after.empty()) fetch_after.push_back(after);
    orchestrator.add(StageJob{
        .name = fetch_job,
        .kind = ipc::proto::StageKind::FETCHER,
        .after = fetch_after,
        .prepare = [state, first, last, options, suffix = std::string(package_suffix)] {
          return fetch_packages_request(*state, first, last, options, suffix);
        },
        .on_success = {},
        .timeout = stage_info(ipc::proto::StageKind::FETCHER).default_timeout,
    });
  }

  for (std::size_t b = 0; b < verify_count; ++b) {
    // One verifier at a time: each already hashes its packages on every
    // core, so a free job slot goes to the next download instead.
    std::vector<std::string> verify_after = {fetch_job_of[b]};
    if (b > 0) verify_after.push_back("verify-packages-" + std::to_string(b));
    orchestrator.add(StageJob{
        .name = "verify-packages-" + std::to_string(b + 1),
        .kind = ipc::proto::StageKind::VERIFIER,
        .after = verify_after,
        .prepare = [state, b, suffix = std::string(package_suffix), keys = options.package_keys] {
          return verify_packages_request(*state, b, suffix, keys);
        },
        .on_success = [state, b, &cache, &out, suffix = std::string(package_suffix)](const StageOutcome& outcome) {
          commit_verified(outcome, *state, b, suffix, cache, out);
        },
        .timeout = stage_info(ipc::proto::StageKind::VERIFIER).default_timeout,
    });
  }
}

}  // namespace supervisor
