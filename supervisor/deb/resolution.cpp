#include "supervisor/deb/resolution.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include "base/error.hpp"
#include "supervisor/cache/repository_trust.hpp"
#include "supervisor/deb/release_reuse.hpp"
#include "supervisor/family_indexes.hpp"
#include "supervisor/repository_common.hpp"
#include "stages/fetcher/client.hpp"
#include "stages/resolver/client.hpp"
#include "stages/verifier/client.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor::deb {
namespace {

namespace fs = std::filesystem;
namespace fetcher_client = stage::fetcher::client;
namespace resolver_client = stage::resolver::client;
namespace verifier_client = stage::verifier::client;
using ipc::proto::PackageSource;

// An index's download, named so repositories never collide.
std::string index_name(const Repository& repo, const std::string& relative) { return download_name(repo.name, relative); }

// Caps on the downloads nothing signed gives a size for, with room to grow:
// bookworm's InRelease is ~150 KB and bookworm main's Packages.xz ~9 MB
// (docs/verification.md); keys: add_key_downloads().
constexpr std::uint64_t kReleaseCapBytes = 4ULL << 20;
constexpr std::uint64_t kIndexCapBytes = 256ULL << 20;

// What anchors InRelease and the indexes, named in the fetcher's plain http
// warning: nothing for a repository marked trusted.
fetcher_client::CheckedBy metadata_checked_by(const Repository& repo) {
  return repo.trusted ? fetcher_client::CheckedBy::kNothing : fetcher_client::CheckedBy::kSignature;
}

// What a verified Release lists, before its indexes are fetched.
struct ReleaseListing {
  bool acquire_by_hash = false;
  std::vector<verifier_client::ListedFile> files;
};

struct ResolutionState : IndexState {
  std::vector<IndexSlot> indexes;
  std::map<std::string, ReleaseListing> listings;  // by repository name
  std::optional<ReleaseVerdicts> recalled;          // every verified repository's, or none
  std::map<std::string, std::string> verdict_keys;  // by repository name: release_verdict_key()

  IndexSlot* find(const std::string& repo, const std::string& relative_path) override {
    for (IndexSlot& slot : indexes) {
      if (slot.repo == repo && slot.relative_path == relative_path) return &slot;
    }
    return nullptr;
  }
  std::vector<IndexSlot*> slots() override {
    std::vector<IndexSlot*> out;
    for (IndexSlot& slot : indexes) out.push_back(&slot);
    return out;
  }
};

// Release Dates may not go back, and a key fetched with no pinned
// fingerprint must be the one trusted on its first use (repository_trust.hpp).
CheckTrust check_against_earlier_builds(RepositoryList repos) {
  return check_each_repository([repos](const verifier_client::VerifiedRepo& verified, RepositoryTrust& trust,
                                       std::vector<std::string>& warnings) {
    const auto repo = std::find_if(repos->begin(), repos->end(),
                                   [&](const Repository& r) { return r.name == verified.name; });
    if (repo == repos->end()) return;
    const std::string identity = repository_identity(repo->base_url, repo->suite);
    trust.accept_release_date(identity, repo->name, verified.date);
    check_first_use_signer(trust, identity, repo->name, repo->keys, verified.signer_fingerprint, warnings);
  });
}

// Every repository's InRelease, and the keys it names by https URL.
PreparedRequest release_fetch_request(const std::vector<Repository>& repos, const fs::path& metadata,
                                      const PipelineOptions& options) {
  return fetcher_request(metadata, options, [&](fetcher_client::Request& request) {
    for (const auto& repo : repos) {
      request.downloads.push_back({.url = repo.url_of("dists/" + repo.suite + "/InRelease"),
                                   .dest_name = repo.in_release_name(), .max_size = kReleaseCapBytes,
                                   .checked_by = metadata_checked_by(repo)});
      add_key_downloads(request, repo.name, repo.keys);
    }
  });
}

// Where an index is fetched from: by its hash when the verified Release
// offers that (a mirror updating meanwhile still serves the listed copy),
// else by its name.
fetcher_client::Download index_download(const Repository& repo, const std::string& index,
                                        const ReleaseListing* listing) {
  fetcher_client::Download d{.url = repo.url_of("dists/" + repo.suite + "/" + index),
                             .dest_name = index_name(repo, index), .max_size = kIndexCapBytes,
                             .checked_by = metadata_checked_by(repo)};
  if (listing == nullptr || !listing->acquire_by_hash) return d;
  const auto listed = std::find_if(listing->files.begin(), listing->files.end(),
                                   [&](const verifier_client::ListedFile& f) { return f.relative_path == index; });
  // Unlisted: fetched by name, and the verifier names it missing. The hash
  // is not handed to the fetcher: the verifier checks every index against
  // the signed Release and says so in its own words.
  if (listed != listing->files.end()) {
    const std::string dir = fs::path(index).parent_path().string();
    d.url = repo.url_of("dists/" + repo.suite + "/" + (dir.empty() ? "" : dir + "/") + "by-hash/SHA256/" +
                        listed->sha256);
  }
  return d;
}

// Every repository's indexes; the hashes come from the verified Release
// (a trusted repository's from nowhere: it is fetched by name).
PreparedRequest index_fetch_request(const std::vector<Repository>& repos, const fs::path& metadata,
                                    const ResolutionState& state, const PipelineOptions& options) {
  return fetcher_request(metadata, options, [&](fetcher_client::Request& request) {
    for (const auto& repo : repos) {
      const auto listing = state.listings.find(repo.name);
      for (const auto& index : repo.index_paths()) {
        request.downloads.push_back(
            index_download(repo, index, listing == state.listings.end() ? nullptr : &listing->second));
      }
    }
  });
}

verifier_client::Repository release_to_verify(PreparedRequest& p, const Repository& repo, const fs::path& metadata) {
  verifier_client::Repository out{.name = repo.name, .suite = repo.suite, .architectures = {repo.architecture},
                                  .components = repo.components};
  out.in_release = ipc::FdReference::of_slot(p.add_fd(metadata / repo.in_release_name(), kFetchedFile));
  out.keys = keys_to_verify(p, repo.name, repo.keys, metadata);
  return out;
}

// The repositories not marked trusted, with their Releases and keys: what
// they list tells where their indexes are fetched from.
PreparedRequest release_verify_request(const std::vector<Repository>& repos, const fs::path& metadata) {
  return verifier_request([&](PreparedRequest& p, std::vector<verifier_client::Repository>& out) {
    for (const auto& repo : repos) {
      if (!repo.trusted) out.push_back(release_to_verify(p, repo, metadata));
    }
  });
}

void accept_verified_releases(const StageOutcome& outcome, ResolutionState& state) {
  const auto result = accepted_verifier_result(outcome);
  for (const auto& repo : result.verified_repos) {
    state.listings[repo.name] = {repo.acquire_by_hash, repo.listed_files};
  }
}

// verify-releases needs no stage when the verifier accepted every InRelease
// just fetched, with the same keys, in an earlier run (release_reuse.hpp).
std::optional<std::string> recall_releases(const std::vector<Repository>& repos, const fs::path& metadata,
                                           const PackageCache* cache, ResolutionState& state) {
  if (cache == nullptr) return std::nullopt;
  state.recalled = recall_release_verdicts(repos, metadata, cache->root(), std::time(nullptr));
  if (!state.recalled) return std::nullopt;
  for (const auto& [name, verdict] : *state.recalled) {
    state.listings[name] = {verdict.acquire_by_hash, verdict.listed_files};
  }
  return "the verifier accepted every InRelease fetched, with the same keys, in an earlier run";
}

// The verifier's answer on the indexes, when the recalled Releases list
// every index and the metadata cache holds each one's text.
std::optional<verifier_client::Result> known_index_result(const PackageCache* cache, ResolutionState& state) {
  if (cache == nullptr || !state.recalled || !use_cached_index_texts(*state.recalled, state.slots(), *cache)) {
    return std::nullopt;
  }
  return recalled_result(*state.recalled, state.slots());
}

// The repositories not marked trusted, with their Releases, keys and indexes.
PreparedRequest metadata_verify_request(const std::vector<Repository>& repos, const fs::path& metadata,
                                        ResolutionState& state, PackageCache* cache) {
  const fs::path text_dir = index_text_dir(state.staging, metadata);
  return verifier_request([&](PreparedRequest& p, std::vector<verifier_client::Repository>& out) {
    for (const auto& repo : repos) {
      if (repo.trusted) continue;
      verifier_client::Repository verify = release_to_verify(p, repo, metadata);
      // The verdict is filed under the bytes the verifier reads: this fd's.
      if (cache != nullptr) {
        state.verdict_keys[repo.name] = release_verdict_key(repo, p.fds.at(verify.in_release.slot).get(), metadata);
      }
      for (const auto& index : repo.index_paths()) {
        verify.index_files.push_back(index_to_verify(p, *state.find(repo.name, index), text_dir, cache));
      }
      out.push_back(std::move(verify));
    }
  });
}

PreparedRequest resolve_request(const std::vector<Repository>& repos, ResolutionState& state,
                                const std::vector<RequestedPackage>& requested, const PipelineOptions& options,
                                const std::string& arch) {
  PreparedRequest p;
  resolver_client::Request request{.architecture = arch, .essential = resolver_client::EssentialMode::REQUIRED,
                                   .emit_dot_graph = options.dot_graph};
  for (const auto& repo : repos) {
    for (const auto& index : repo.index_paths()) {
      const fs::path text = state.find(repo.name, index)->text;
      request.indexes.push_back({repo.name, ipc::FdReference::of_slot(p.add_fd(text, kFetchedFile)), repo.base_url,
                                 repo.priority, repo.allow_packages});
    }
  }
  for (const auto& r : requested) request.requested.push_back({r.name, r.version_pin, r.source});
  resolver_client::encode(request, p.init_request().initResolver());
  return p;
}

}  // namespace

std::vector<RequestedPackage> requested_packages(const config::ProviderData& provider,
                                                 const config::ImageTemplate& image) {
  std::vector<RequestedPackage> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& spec, PackageSource source) {
    RequestedPackage p{spec, {}, source};
    if (auto underscore = spec.find('_'); underscore != std::string::npos) {
      p.name = spec.substr(0, underscore);
      p.version_pin = "= " + spec.substr(underscore + 1);
    }
    if (seen.insert(p.name).second) out.push_back(std::move(p));
  };
  for (const auto& name : provider.chroot_env.essential) add(name, PackageSource::ESSENTIAL);
  for (const auto& p : template_packages(image, provider.facts.grub)) add(p.spec, p.source);
  return out;
}

void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                         const config::ImageTemplate& image, RepositoryList repos, const PipelineOptions& options,
                         Resolution& out) {
  const fs::path metadata = prepare_metadata_dir(options);
  start_lock(provider, "deb", out);
  auto state = std::make_shared<ResolutionState>();
  for (const auto& repo : *repos) {
    out.lock.repositories.push_back({repo.name, repo.base_url, {}, {repo.suite, repo.components}});
    for (const auto& index : repo.index_paths()) {
      const fs::path download = metadata / index_name(repo, index);
      state->indexes.push_back({repo.name, index, download, {}, {}, {}, download});
    }
  }
  if (options.cache != nullptr) state->staging = options.cache->make_staging_area();

  using ipc::proto::StageKind;
  PackageCache* cache = options.cache;
  orchestrator.add(resolution_job("fetch-releases", StageKind::FETCHER, "",
                                  [repos, metadata, options] { return release_fetch_request(*repos, metadata, options); },
                                  [](const StageOutcome&) {}));
  StageJob verify_releases =
      resolution_job("verify-releases", StageKind::VERIFIER, "fetch-releases",
                     [repos, metadata] { return release_verify_request(*repos, metadata); },
                     [state](const StageOutcome& o) { accept_verified_releases(o, *state); });
  verify_releases.settled_without_stage = [repos, metadata, cache, state] {
    return recall_releases(*repos, metadata, cache, *state);
  };
  orchestrator.add(std::move(verify_releases));
  add_index_jobs(
      orchestrator,
      {.after = "verify-releases", .fetch = "fetch-indexes", .verify = "verify-metadata",
       .fetch_request = [repos, metadata, state, options] { return index_fetch_request(*repos, metadata, *state, options); },
       .verify_request = [repos, metadata, state, cache] { return metadata_verify_request(*repos, metadata, *state, cache); },
       .known_result = [cache, state] { return known_index_result(cache, *state); },
       .on_verified = [repos, cache, state](const verifier_client::Result& result) {
         if (cache != nullptr) remember_release_verdicts(result, state->verdict_keys, *repos, cache->root());
       }},
      state, check_against_earlier_builds(repos), cache, out);
  orchestrator.add(resolution_job(
      "resolve", StageKind::RESOLVER, "verify-metadata",
      [repos, state, requested = requested_packages(provider, image), options, arch = provider.package_arch] {
        return resolve_request(*repos, *state, requested, options, arch);
      },
      [&out](const StageOutcome& o) {
        lock_resolution(o, "index", [](const resolver_client::Package& resolved, LockedPackage& locked) {
          locked.deb = {resolved.essential, resolved.pre_depends};
        }, out);
      }));
}

}  // namespace supervisor::deb
