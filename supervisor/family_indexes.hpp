// What the families share for their repository indexes: a compressed index
// is decompressed once by the verifier and its text kept in the package
// cache by the compressed file's hash (PackageCache::index_text_path), so a
// later build offers the cached copy and the verifier checks it against the
// signed metadata instead of decompressing again.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/fetcher/client.hpp"
#include "stages/resolver/client.hpp"
#include "stages/verifier/client.hpp"
#include "supervisor/cache/package_cache.hpp"
#include "supervisor/cache/repository_trust.hpp"
#include "supervisor/family.hpp"
#include "supervisor/repository_common.hpp"
#include "supervisor/stage/orchestrator.hpp"

namespace supervisor {

// One index of a resolution: its download, and the text the resolver reads
// once the verifier has accepted it.
struct IndexSlot {
  std::string repo;
  std::string relative_path;
  std::filesystem::path download;
  std::string fetched_sha256;      // the fetcher's hash: only picks a cached copy to offer
  std::filesystem::path cached;    // the copy offered to the verifier, or empty
  std::filesystem::path text_out;  // where the verifier writes the decompressed text, or empty
  std::filesystem::path text;      // what the resolver reads
};

bool is_compressed_index(std::string_view relative_path);

// Asks the verifier for the decompressed text of a compressed index, and
// offers it the cached copy named by the downloaded file's hash.
void request_index_text(PreparedRequest& p, stage::verifier::client::IndexFile& out, IndexSlot& slot,
                        const std::filesystem::path& text_dir, PackageCache* cache);

// Where the resolver reads the text of one verified index, per the verifier;
// a text the signed metadata lists is committed to the cache.
void use_index_text(const stage::verifier::client::VerifiedIndex& index, IndexSlot& slot, PackageCache* cache,
                    Resolution& out);

// The directory a resolution downloads its metadata into (created), after
// checking the options a resolution reads from the environment.
std::filesystem::path prepare_metadata_dir(const PipelineOptions& options);

// The lock's provider fields and `family`; its repositories cleared.
void start_lock(const config::ProviderData& provider, std::string family, Resolution& out);

// A resolution job with its stage's default timeout, after `after` ("" = first).
StageJob resolution_job(std::string name, ipc::proto::StageKind kind, std::string after,
                        std::function<PreparedRequest()> prepare, std::function<void(const StageOutcome&)> on_success);

// A fetcher request into `metadata`: `add_downloads` lists the files. Plain
// http is allowed: every family's metadata is checked by the verifier
// against what is signed, and add_key_downloads() refuses keys over http.
PreparedRequest fetcher_request(const std::filesystem::path& metadata, const PipelineOptions& options,
                                       const std::function<void(stage::fetcher::client::Request&)>& add_downloads);

// A verifier request of the repositories `add_repositories` lists (their
// files as slots of the request being prepared).
using AddRepositoriesToVerify =
    std::function<void(PreparedRequest& p, std::vector<stage::verifier::client::Repository>& out)>;
PreparedRequest verifier_request(const AddRepositoriesToVerify& add_repositories);

// One downloaded index for the verifier, with its text asked for
// (request_index_text) into `text_dir`.
stage::verifier::client::IndexFile index_to_verify(PreparedRequest& p, IndexSlot& slot,
                                                   const std::filesystem::path& text_dir, PackageCache* cache);

// Where the verifier writes index texts: the staging area, until committed
// to the cache, else beside the downloads.
std::filesystem::path index_text_dir(const std::optional<StagingArea>& staging,
                                     const std::filesystem::path& metadata);

// The verifier's result; throws its first failure.
stage::verifier::client::Result accepted_verifier_result(const StageOutcome& outcome);

// A key fetched by URL with no pinned fingerprint: trusted on first use.
bool trusts_on_first_use(const std::vector<RepoKey>& keys);

// The fetcher's hash of each download among `slots`.
void note_fetched_hashes(const StageOutcome& outcome, const std::vector<IndexSlot*>& slots);

// The slot of a repository's index, or nullptr.
using FindIndexSlot = std::function<IndexSlot*(const std::string& repo, const std::string& relative_path)>;

// After the verifier accepted a family's metadata and indexes: each
// repository's signer into the lock, and where the resolver reads each index.
void accept_verified_indexes(const stage::verifier::client::Result& result, const FindIndexSlot& find,
                             PackageCache* cache, Resolution& out);

// The verifier's answer on a family's metadata and indexes: its first
// failure thrown, then, with a cache, `check_trust` against earlier builds
// (cache root, warnings), then accept_verified_indexes().
using CheckTrust = std::function<void(const stage::verifier::client::Result& result,
                                      const std::filesystem::path& cache_root, std::vector<std::string>& warnings)>;
stage::verifier::client::Result accept_verified_metadata(const StageOutcome& outcome, const FindIndexSlot& find,
                                                         const CheckTrust& check_trust, PackageCache* cache,
                                                         Resolution& out);
// The same for an answer known without the verifier (IndexJobs::known_result).
void accept_verified_result(const stage::verifier::client::Result& result, const FindIndexSlot& find,
                            const CheckTrust& check_trust, PackageCache* cache, Resolution& out);

// The trust kept across builds in the cache root (repository_trust.hpp),
// `check_repository` called for each verified repository, then saved.
using CheckVerifiedRepository = std::function<void(const stage::verifier::client::VerifiedRepo& verified,
                                                   RepositoryTrust& trust, std::vector<std::string>& warnings)>;
CheckTrust check_each_repository(CheckVerifiedRepository check_repository);

// A key fetched with no pinned fingerprint must be the one trusted on its
// first use: a warning when first seen, an error when it changes.
void check_first_use_signer(RepositoryTrust& trust, const std::string& identity, const std::string& repo,
                            const std::vector<RepoKey>& keys, const std::string& signer_fingerprint,
                            std::vector<std::string>& warnings);

// A family's indexes during one resolution.
class IndexState {
 public:
  virtual ~IndexState() = default;
  virtual std::vector<IndexSlot*> slots() = 0;
  // The slot of a repository's index, or nullptr.
  virtual IndexSlot* find(const std::string& repo, const std::string& relative_path) = 0;

  std::optional<StagingArea> staging;  // the verifier's output, until committed to the cache
  // The verifier's answer, known before its jobs ran (IndexJobs::known_result).
  std::optional<stage::verifier::client::Result> known_result;
};

// The jobs fetching a family's indexes (noting the fetcher's hash of each
// slot) and verifying them with the signed metadata again
// (accept_verified_metadata()): `fetch` after `after`, `verify` after `fetch`.
// When `known_result` gives the verifier's answer already (the slots then
// point at cached texts it checked), neither job runs a stage.
struct IndexJobs {
  std::string after, fetch, verify;  // job names
  std::function<PreparedRequest()> fetch_request, verify_request;
  std::function<std::optional<stage::verifier::client::Result>()> known_result;  // optional
  std::function<void(const stage::verifier::client::Result&)> on_verified;       // optional: the verifier's answer
};
void add_index_jobs(Orchestrator& orchestrator, IndexJobs jobs, std::shared_ptr<IndexState> state,
                    CheckTrust check_trust, PackageCache* cache, Resolution& out);

// The resolver's packages and order into out.lock, `family_fields` filling a
// package's family section; checked as a lockfile read from disk is (every
// file inside its repository, every URL that repository's). `index` names
// the family's index in the message for a package without sha256.
using FamilyPackageFields =
    std::function<void(const stage::resolver::client::Package& resolved, LockedPackage& locked)>;
void lock_resolution(const StageOutcome& outcome, std::string_view index, const FamilyPackageFields& family_fields,
                     Resolution& out);

}  // namespace supervisor
