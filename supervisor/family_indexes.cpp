#include "supervisor/family_indexes.hpp"

#include <fcntl.h>

#include <algorithm>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"
#include "stages/fetcher/client.hpp"
#include "supervisor/build/package_fetch.hpp"
#include "supervisor/repository_common.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {

namespace fs = std::filesystem;
namespace fetcher_client = stage::fetcher::client;
namespace verifier_client = stage::verifier::client;

// In the cache root, beside the objects: no stage can write there.
constexpr const char* kRepositoryTrustFile = "repositories.json";

bool is_compressed_index(std::string_view relative_path) {
  for (const std::string_view suffix : {".xz", ".gz", ".bz2", ".lzma", ".zst"}) {
    if (relative_path.ends_with(suffix)) return true;
  }
  return false;
}

void request_index_text(PreparedRequest& p, verifier_client::IndexFile& out, IndexSlot& slot, const fs::path& text_dir,
                        PackageCache* cache) {
  if (!is_compressed_index(slot.relative_path)) return;
  slot.text_out = text_dir / (slot.download.filename().string() + ".text");
  out.uncompressed_out = ipc::FdReference::of_slot(p.add_fd(slot.text_out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW));
  if (cache == nullptr || slot.fetched_sha256.size() != 64) return;
  const fs::path cached = cache->index_text_path(slot.fetched_sha256);
  base::UniqueFd fd(::open(cached.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return;
  slot.cached = cached;
  out.cached_uncompressed = ipc::FdReference::of_slot(p.add_fd(cached, O_RDONLY | O_NOFOLLOW));
}

void use_index_text(const verifier_client::VerifiedIndex& index, IndexSlot& slot, PackageCache* cache,
                    Resolution& out) {
  if (!index.cache_refusal.empty()) out.cache_refusals.push_back("'" + slot.cached.string() + "': " + index.cache_refusal);
  switch (index.uncompressed) {
    case verifier_client::Uncompressed::kCached:
      slot.text = slot.cached;
      ++out.indexes_cached;
      return;
    case verifier_client::Uncompressed::kWritten:
      ++out.indexes_decompressed;
      slot.text = slot.text_out;
      // Kept only when the signed metadata lists the text, so a later run can check it.
      if (cache != nullptr && !index.uncompressed_sha256.empty()) {
        slot.text = cache->commit_index_text(slot.text_out, index.sha256, index.uncompressed_sha256,
                                             index.uncompressed_size);
      }
      return;
    case verifier_client::Uncompressed::kNone: return;
  }
}

std::filesystem::path prepare_metadata_dir(const PipelineOptions& options) {
  file_timeout_sec(options);  // a malformed variable fails before any stage starts
  const fs::path metadata = options.workspace / "metadata";
  base::make_directories(metadata);
  return metadata;
}

void start_lock(const config::ProviderData& provider, std::string family, Resolution& out) {
  out.lock.family = std::move(family);
  out.lock.provider_id = provider.id;
  out.lock.os = provider.os;
  out.lock.dist = provider.dist;
  out.lock.arch = provider.arch;
  out.lock.repositories.clear();
}

StageJob resolution_job(std::string name, ipc::proto::StageKind kind, std::string after,
                        std::function<PreparedRequest()> prepare, std::function<void(const StageOutcome&)> on_success) {
  StageJob out{.name = std::move(name), .kind = kind, .after = {}, .prepare = std::move(prepare),
               .on_success = std::move(on_success), .timeout = stage_info(kind).default_timeout};
  if (!after.empty()) out.after = {std::move(after)};
  return out;
}

PreparedRequest fetcher_request(const fs::path& metadata, const PipelineOptions& options,
                                       const std::function<void(fetcher_client::Request&)>& add_downloads) {
  PreparedRequest p;
  fetcher_client::Request request = fetch_request(options);
  add_downloads(request);
  request.output_dir = p.bind_dir(metadata, true);
  request.allow_plain_http = true;
  fetcher_client::encode(request, p.init_request().initFetcher());
  return p;
}

PreparedRequest verifier_request(const AddRepositoriesToVerify& add_repositories) {
  PreparedRequest p;
  verifier_client::Request request;
  add_repositories(p, request.repositories);
  verifier_client::encode(request, p.init_request().initVerifier());
  return p;
}

verifier_client::IndexFile index_to_verify(PreparedRequest& p, IndexSlot& slot, const fs::path& text_dir,
                                           PackageCache* cache) {
  verifier_client::IndexFile file{.relative_path = slot.relative_path};
  file.file = ipc::FdReference::of_slot(p.add_fd(slot.download, kFetchedFile));
  request_index_text(p, file, slot, text_dir, cache);
  return file;
}

fs::path index_text_dir(const std::optional<StagingArea>& staging, const fs::path& metadata) {
  return staging ? staging->dir() : metadata;
}

verifier_client::Result accepted_verifier_result(const StageOutcome& outcome) {
  auto result = verifier_client::decode(outcome.result_reader().getVerifier());
  throw_first_failure(result);
  return result;
}

bool trusts_on_first_use(const std::vector<RepoKey>& keys) {
  return std::any_of(keys.begin(), keys.end(),
                     [](const RepoKey& key) { return is_remote(key.location) && key.fingerprints.empty(); });
}

void note_fetched_hashes(const StageOutcome& outcome, const std::vector<IndexSlot*>& slots) {
  for (const auto& file : stage::fetcher::client::decode(outcome.result_reader().getFetcher()).files) {
    for (IndexSlot* slot : slots) {
      if (slot->download.filename() == file.dest_name) slot->fetched_sha256 = file.sha256;
    }
  }
}

void accept_verified_indexes(const verifier_client::Result& result, const FindIndexSlot& find, PackageCache* cache,
                             Resolution& out) {
  for (const auto& repo : result.verified_repos) {
    for (auto& locked : out.lock.repositories) {
      if (locked.name != repo.name) continue;
      locked.signer_fingerprint = repo.signer_fingerprint;
      locked.date = repo.date >= 0 ? repo.date : -1;
    }
  }
  for (const auto& index : result.verified_indexes) {
    if (IndexSlot* slot = find(index.repo, index.relative_path)) use_index_text(index, *slot, cache, out);
  }
}

verifier_client::Result accept_verified_metadata(const StageOutcome& outcome, const FindIndexSlot& find,
                                                 const CheckTrust& check_trust, PackageCache* cache, Resolution& out) {
  auto result = accepted_verifier_result(outcome);
  accept_verified_result(result, find, check_trust, cache, out);
  return result;
}

void accept_verified_result(const verifier_client::Result& result, const FindIndexSlot& find,
                            const CheckTrust& check_trust, PackageCache* cache, Resolution& out) {
  if (cache != nullptr) check_trust(result, cache->root(), out.warnings);
  accept_verified_indexes(result, find, cache, out);
}

CheckTrust check_each_repository(CheckVerifiedRepository check_repository) {
  return [check_repository = std::move(check_repository)](const verifier_client::Result& result,
                                                          const fs::path& cache_root, std::vector<std::string>& warnings) {
    RepositoryTrust trust(cache_root / kRepositoryTrustFile);
    for (const auto& verified : result.verified_repos) check_repository(verified, trust, warnings);
    trust.save();
  };
}

void check_first_use_signer(RepositoryTrust& trust, const std::string& identity, const std::string& repo,
                            const std::vector<RepoKey>& keys, const std::string& signer_fingerprint,
                            std::vector<std::string>& warnings) {
  if (!trusts_on_first_use(keys)) return;
  if (auto warning = trust.accept_first_use_signer(identity, repo, signer_fingerprint)) {
    warnings.push_back(std::move(*warning));
  }
}

void add_index_jobs(Orchestrator& orchestrator, IndexJobs jobs, std::shared_ptr<IndexState> state,
                    CheckTrust check_trust, PackageCache* cache, Resolution& out) {
  using ipc::proto::StageKind;
  StageJob fetch = resolution_job(jobs.fetch, StageKind::FETCHER, jobs.after, std::move(jobs.fetch_request),
                                  [state](const StageOutcome& o) { note_fetched_hashes(o, state->slots()); });
  fetch.settled_without_stage = [state, known_result = std::move(jobs.known_result)]() -> std::optional<std::string> {
    if (known_result) state->known_result = known_result();
    if (!state->known_result) return std::nullopt;
    return "every index is in the metadata cache as the verified signed metadata lists it";
  };
  orchestrator.add(std::move(fetch));
  const FindIndexSlot find = [state](const std::string& repo, const std::string& path) { return state->find(repo, path); };
  StageJob verify = resolution_job(
      jobs.verify, StageKind::VERIFIER, jobs.fetch, std::move(jobs.verify_request),
      [find, check_trust, cache, &out, on_verified = jobs.on_verified](const StageOutcome& o) {
        const auto result = accept_verified_metadata(o, find, check_trust, cache, out);
        if (on_verified) on_verified(result);
      });
  verify.settled_without_stage = [state, find, check_trust, cache, &out]() -> std::optional<std::string> {
    if (!state->known_result) return std::nullopt;
    accept_verified_result(*state->known_result, find, check_trust, cache, out);
    return "the signed metadata and the cached index texts were verified by an earlier run (texts hashed again)";
  };
  orchestrator.add(std::move(verify));
}

void lock_resolution(const StageOutcome& outcome, std::string_view index, const FamilyPackageFields& family_fields,
                     Resolution& out) {
  const auto result = stage::resolver::client::decode(outcome.result_reader().getResolver());
  out.lock.packages.clear();
  for (const auto& pkg : result.packages) {
    LockedPackage locked{pkg.name, pkg.version, pkg.architecture, pkg.repo, pkg.url, pkg.filename, pkg.sha256,
                         pkg.size, source_name(pkg.source), {}};
    base::require(locked.sha256.size() == 64, "the " + std::string(index) + " entry of package '" + locked.name +
                                                  "' has no sha256 checksum");
    family_fields(pkg, locked);
    out.lock.packages.push_back(std::move(locked));
  }
  out.lock.install_order = result.install_order;
  lockfile_from_json(lockfile_to_json(out.lock), "the resolver's result");
  out.dot_graph = result.dot_graph;
}

}  // namespace supervisor
