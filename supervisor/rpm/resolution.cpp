#include "supervisor/rpm/resolution.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "base/error.hpp"
#include "stages/fetcher/client.hpp"
#include "stages/resolver/client.hpp"
#include "stages/verifier/client.hpp"
#include "supervisor/cache/repository_trust.hpp"
#include "supervisor/family_indexes.hpp"
#include "supervisor/repository_common.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor::rpm {
namespace {

namespace fs = std::filesystem;
namespace resolver_client = stage::resolver::client;
namespace verifier_client = stage::verifier::client;

// Caps on what nothing signed gives a size for: repomd.xml is a few KB, its
// signature and a key at most ~100 KB.
constexpr std::uint64_t kRepomdCapBytes = 4ULL << 20;
constexpr std::uint64_t kSignatureCapBytes = 1ULL << 20;
constexpr const char* kRepomdPath = "repodata/repomd.xml";


// Downloaded files of one repository, named so repositories never collide.
std::string repomd_name(const Repository& repo) { return repo.name + "_repomd.xml"; }
std::string signature_name(const Repository& repo) { return repo.name + "_repomd.xml.asc"; }
std::string index_name(const Repository& repo, const std::string& relative) { return download_name(repo.name, relative); }

// An index the verified repomd lists: primary or filelists.
struct RpmIndex {
  verifier_client::ListedFile listed;
  IndexSlot slot;
};

struct ResolutionState : IndexState {
  // By repository name: primary, then filelists once the resolver asks for it.
  std::map<std::string, std::vector<RpmIndex>> indexes;
  // By repository name: the filelists each repomd lists, fetched only when needed.
  std::map<std::string, RpmIndex> filelists;
  bool with_filelists = false;  // moved into `indexes`

  std::vector<IndexSlot*> slots() override {
    std::vector<IndexSlot*> out;
    for (auto& [repo, list] : indexes) {
      for (RpmIndex& index : list) out.push_back(&index.slot);
    }
    return out;
  }

  IndexSlot* find(const std::string& repo, const std::string& relative_path) override {
    auto it = indexes.find(repo);
    if (it == indexes.end()) return nullptr;
    for (RpmIndex& index : it->second) {
      if (index.slot.relative_path == relative_path) return &index.slot;
    }
    return nullptr;
  }
};

// repomd.xml is checked by its signature or, unsigned, the packages by theirs.
PreparedRequest repomd_fetch_request(const std::vector<Repository>& repos, const fs::path& metadata,
                                     const PipelineOptions& options) {
  return fetcher_request(metadata, options, [&](stage::fetcher::client::Request& request) {
    auto add = [&](std::string url, std::string name, std::uint64_t cap) {
      request.downloads.push_back({.url = std::move(url), .dest_name = std::move(name), .max_size = cap});
    };
    for (const auto& repo : repos) {
      add(repo.url_of(kRepomdPath), repomd_name(repo), kRepomdCapBytes);
      request.downloads.back().checked_by = metadata_checked_by(repo);
      if (repo.repo_gpg_check) add(repo.url_of(std::string(kRepomdPath) + ".asc"), signature_name(repo), kSignatureCapBytes);
      add_key_downloads(request, repo.name, repo.keys);
    }
  });
}

verifier_client::Repository repomd_to_verify(PreparedRequest& p, const Repository& repo, const fs::path& metadata) {
  verifier_client::Repository out{.name = repo.name, .architectures = repo.architectures};
  verifier_client::RpmRepomd rpm{.repomd = ipc::FdReference::of_slot(p.add_fd(metadata / repomd_name(repo), kFetchedFile))};
  if (repo.repo_gpg_check) {
    rpm.signature = ipc::FdReference::of_slot(p.add_fd(metadata / signature_name(repo), kFetchedFile));
  }
  out.rpm = std::move(rpm);
  out.keys = keys_to_verify(p, repo.name, repo.keys, metadata);
  return out;
}

PreparedRequest repomd_verify_request(const std::vector<Repository>& repos, const fs::path& metadata) {
  return verifier_request([&](PreparedRequest& p, std::vector<verifier_client::Repository>& out) {
    for (const auto& repo : repos) out.push_back(repomd_to_verify(p, repo, metadata));
  });
}

// primary is required; filelists is kept aside, for file dependencies
// outside primary's short list.
void accept_verified_repomd(const StageOutcome& outcome, const std::vector<Repository>& repos,
                            const fs::path& metadata, ResolutionState& state) {
  const auto result = accepted_verifier_result(outcome);
  for (const auto& verified : result.verified_repos) {
    const auto repo = std::find_if(repos.begin(), repos.end(), [&](const Repository& r) { return r.name == verified.name; });
    if (repo == repos.end()) continue;
    auto& indexes = state.indexes[repo->name];
    for (const char* kind : {kPrimary, kFilelists}) {
      const auto listed = std::find_if(verified.listed_files.begin(), verified.listed_files.end(),
                                       [&](const verifier_client::ListedFile& f) { return f.kind == kind; });
      if (listed == verified.listed_files.end()) {
        base::require(kind != kPrimary, "repository '" + repo->name + "': its repomd.xml lists no primary index");
        continue;
      }
      const fs::path download = metadata / index_name(*repo, listed->relative_path);
      RpmIndex index{*listed, {repo->name, listed->relative_path, download, {}, {}, {}, download}};
      if (kind == kPrimary) {
        indexes.push_back(std::move(index));
      } else {
        state.filelists.emplace(repo->name, std::move(index));
      }
    }
  }
  for (const auto& repo : repos) {
    base::require(state.indexes.contains(repo.name), "repository '" + repo.name + "': the verifier did not read its repomd.xml");
  }
}

// The listed indexes of `kind`, checked against the verified repomd by the
// fetcher (sha256, size) and the verifier.
PreparedRequest index_fetch_request(const std::vector<Repository>& repos, const fs::path& metadata,
                                    const ResolutionState& state, const std::string& kind,
                                    const PipelineOptions& options) {
  return fetcher_request(metadata, options, [&](stage::fetcher::client::Request& request) {
    for (const auto& repo : repos) {
      for (const RpmIndex& index : state.indexes.at(repo.name)) {
        if (index.listed.kind != kind) continue;
        request.downloads.push_back({.url = repo.url_of(index.listed.relative_path),
                                     .dest_name = index.slot.download.filename().string(),
                                     .expected_sha256 = index.listed.sha256,
                                     .expected_size = static_cast<std::int64_t>(index.listed.size),
                                     .checked_by = metadata_checked_by(repo)});
      }
    }
  });
}

// Each repomd again, with its fetched indexes of `kind`.
PreparedRequest metadata_verify_request(const std::vector<Repository>& repos, const fs::path& metadata,
                                        ResolutionState& state, const std::string& kind, PackageCache* cache) {
  const fs::path text_dir = index_text_dir(state.staging, metadata);
  return verifier_request([&](PreparedRequest& p, std::vector<verifier_client::Repository>& out) {
    for (const auto& repo : repos) {
      verifier_client::Repository verify = repomd_to_verify(p, repo, metadata);
      for (RpmIndex& index : state.indexes.at(repo.name)) {
        if (index.listed.kind != kind) continue;
        verify.index_files.push_back(index_to_verify(p, index.slot, text_dir, cache));
      }
      out.push_back(std::move(verify));
    }
  });
}

// A key fetched with no pinned fingerprint must be the one trusted on its
// first use (repository_trust.hpp); repomd has no date to keep monotonic.
CheckTrust check_first_use_signers(RepositoryList repos) {
  return check_each_repository([repos](const verifier_client::VerifiedRepo& verified, RepositoryTrust& trust,
                                       std::vector<std::string>& warnings) {
    const auto repo = std::find_if(repos->begin(), repos->end(), [&](const Repository& r) { return r.name == verified.name; });
    if (repo == repos->end() || verified.signer_fingerprint.empty()) return;
    check_first_use_signer(trust, repository_identity(repo->base_url, ""), repo->name, repo->keys,
                           verified.signer_fingerprint, warnings);
  });
}

PreparedRequest resolve_request(const std::vector<Repository>& repos, ResolutionState& state,
                                const std::vector<TemplatePackage>& requested, const PipelineOptions& options,
                                const std::string& arch) {
  PreparedRequest p;
  resolver_client::Request request{.architecture = arch, .emit_dot_graph = options.dot_graph};
  request.family = resolver_client::Family::kRpm;
  for (const auto& repo : repos) {
    const auto& indexes = state.indexes.at(repo.name);  // primary first
    resolver_client::RpmIndex rpm{.primary = ipc::FdReference::of_slot(p.add_fd(indexes.front().slot.text, kFetchedFile))};
    if (indexes.size() > 1) rpm.filelists = ipc::FdReference::of_slot(p.add_fd(indexes.back().slot.text, kFetchedFile));
    request.indexes.push_back({.repo_name = repo.name, .base_url = repo.base_url, .priority = repo.priority,
                               .allow_packages = repo.allow_packages, .rpm = std::move(rpm)});
  }
  // Names and globs as written: rpm names may hold '_', so no pin is split off.
  std::set<std::string> seen;
  for (const auto& r : requested) {
    if (seen.insert(r.spec).second) request.requested.push_back({r.spec, {}, r.source});
  }
  resolver_client::encode(request, p.init_request().initResolver());
  return p;
}

// What the resolve jobs share: the first, on primary alone, and the one
// with filelists it may add to the running orchestrator.
struct ResolveContext {
  Orchestrator& orchestrator;
  RepositoryList repos;
  fs::path metadata;
  std::shared_ptr<ResolutionState> state;
  std::vector<TemplatePackage> requested;
  PipelineOptions options;
  std::string arch;
  Resolution& out;
};
using ResolveContextPtr = std::shared_ptr<const ResolveContext>;

struct JobNames {
  std::string after, fetch, verify, resolve;
};
void add_index_and_resolve_jobs(const ResolveContextPtr& ctx, const std::string& kind, const JobNames& names);

std::string listed_deps(const std::vector<std::string>& deps) {
  std::string out;
  for (const std::string& dep : deps) out += (out.empty() ? "'" : ", '") + dep + "'";
  return out;
}

// The resolver's packages into the lock, or, when it names file
// dependencies only filelists can provide, the jobs that fetch, verify and
// resolve with every repository's filelists.
void accept_resolution(const StageOutcome& outcome, const ResolveContextPtr& ctx) {
  const auto needed = resolver_client::decode(outcome.result_reader().getResolver()).filelists_needed;
  if (needed.empty()) return lock_resolution(outcome, "primary", [](const auto&, LockedPackage&) {}, ctx->out);
  ResolutionState& state = *ctx->state;
  base::require(!state.with_filelists, "the resolver asked for filelists it was already given");
  base::require(!state.filelists.empty(), "file dependencies " + listed_deps(needed) +
                                              " are in no primary index, and no repository's repomd.xml lists filelists");
  for (auto& [repo, index] : state.filelists) state.indexes.at(repo).push_back(std::move(index));
  state.filelists.clear();
  state.with_filelists = true;
  add_index_and_resolve_jobs(ctx, kFilelists, {"resolve", "fetch-filelists", "verify-filelists", "resolve-with-filelists"});
}

// Jobs names.fetch (the indexes of `kind`) -> names.verify (with their
// repomd) -> names.resolve, after names.after.
void add_index_and_resolve_jobs(const ResolveContextPtr& ctx, const std::string& kind, const JobNames& names) {
  const RepositoryList repos = ctx->repos;
  const fs::path metadata = ctx->metadata;
  const std::shared_ptr<ResolutionState> state = ctx->state;
  const PipelineOptions options = ctx->options;
  PackageCache* cache = options.cache;
  add_index_jobs(ctx->orchestrator,
                 {.after = names.after, .fetch = names.fetch, .verify = names.verify,
                  .fetch_request = [repos, metadata, state, kind, options] {
                    return index_fetch_request(*repos, metadata, *state, kind, options);
                  },
                  .verify_request = [repos, metadata, state, kind, cache] {
                    return metadata_verify_request(*repos, metadata, *state, kind, cache);
                  }},
                 state, check_first_use_signers(repos), cache, ctx->out);
  ctx->orchestrator.add(resolution_job(names.resolve, ipc::proto::StageKind::RESOLVER, names.verify,
                       [ctx] { return resolve_request(*ctx->repos, *ctx->state, ctx->requested, ctx->options, ctx->arch); },
                       [ctx](const StageOutcome& o) { accept_resolution(o, ctx); }));
}

}  // namespace

stage::fetcher::client::CheckedBy metadata_checked_by(const Repository& repo) {
  using stage::fetcher::client::CheckedBy;
  if (repo.repo_gpg_check) return CheckedBy::kSignature;
  return repo.gpg_check ? CheckedBy::kPackageSignatures : CheckedBy::kNothing;
}

void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                         const config::ImageTemplate& image, RepositoryList repos, const PipelineOptions& options,
                         Resolution& out) {
  const fs::path metadata = prepare_metadata_dir(options);
  auto state = std::make_shared<ResolutionState>();
  if (options.cache != nullptr) state->staging = options.cache->make_staging_area();
  start_lock(provider, "rpm", out);
  for (const auto& repo : *repos) out.lock.repositories.push_back({repo.name, repo.base_url, {}, {}});
  using ipc::proto::StageKind;
  orchestrator.add(resolution_job("fetch-repomd", StageKind::FETCHER, "",
                       [repos, metadata, options] { return repomd_fetch_request(*repos, metadata, options); },
                       [](const StageOutcome&) {}));
  orchestrator.add(resolution_job("verify-repomd", StageKind::VERIFIER, "fetch-repomd",
                       [repos, metadata] { return repomd_verify_request(*repos, metadata); },
                       [repos, metadata, state](const StageOutcome& o) { accept_verified_repomd(o, *repos, metadata, *state); }));
  auto ctx = std::make_shared<const ResolveContext>(
      ResolveContext{orchestrator, repos, metadata, state, template_packages(image, provider.facts.grub), options, provider.package_arch, out});
  add_index_and_resolve_jobs(ctx, kPrimary, {"verify-repomd", "fetch-indexes", "verify-metadata", "resolve"});
}

}  // namespace supervisor::rpm
