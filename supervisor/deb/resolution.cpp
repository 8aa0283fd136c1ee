#include "supervisor/deb/resolution.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

#include "base/error.hpp"
#include "supervisor/cache/repository_trust.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor::deb {
namespace {

namespace fs = std::filesystem;
using ipc::proto::PackageSource;

bool is_remote(const std::string& location) {
  return location.rfind("https://", 0) == 0 || location.rfind("http://", 0) == 0;
}

std::string local_key_path(const std::string& location) {
  if (location.rfind("file://", 0) == 0) return location.substr(7);
  return location;
}

// Downloaded files of one repository, named so repositories never collide.
std::string release_name(const Repository& repo) { return repo.name + "_InRelease"; }
std::string index_name(const Repository& repo, const std::string& relative) {
  std::string name = repo.name + "_" + relative;
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}
std::string key_name(const Repository& repo, std::size_t i) { return repo.name + "_key" + std::to_string(i); }

// Caps on the downloads nothing signed gives a size for, with room to grow:
// bookworm's InRelease is ~150 KB, an archive key at most ~100 KB, and
// bookworm main's Packages.xz ~9 MB (docs/verification.md).
constexpr std::uint64_t kReleaseCapBytes = 4ULL << 20;
constexpr std::uint64_t kKeyCapBytes = 1ULL << 20;
constexpr std::uint64_t kIndexCapBytes = 256ULL << 20;

// In the cache root, beside the objects: no stage can write there.
constexpr const char* kRepositoryTrustFile = "repositories.json";

std::string source_name(PackageSource source) {
  switch (source) {
    case PackageSource::ESSENTIAL: return "essential";
    case PackageSource::KERNEL: return "kernel";
    case PackageSource::BOOTLOADER: return "bootloader";
    case PackageSource::SYSTEM: return "system";
    case PackageSource::DEPENDENCY: return "dependency";
  }
  return "dependency";
}

// One index of a resolution: its download, and the text the resolver reads
// once the verifier has accepted it.
struct IndexSlot {
  std::string repo;
  std::string relative_path;
  fs::path download;
  std::string fetched_sha256;  // the fetcher's hash: only picks a cached copy to offer
  fs::path cached;             // the copy offered to the verifier, or empty
  fs::path text_out;           // where the verifier writes the decompressed text, or empty
  fs::path text;               // what the resolver reads
};

struct ResolutionState {
  std::optional<StagingArea> staging;  // the verifier's output, until committed to the cache
  std::vector<IndexSlot> indexes;

  IndexSlot* find(std::string_view repo, std::string_view relative_path) {
    for (IndexSlot& slot : indexes) {
      if (slot.repo == repo && slot.relative_path == relative_path) return &slot;
    }
    return nullptr;
  }
};

bool is_compressed_index(std::string_view relative_path) {
  for (const std::string_view suffix : {".xz", ".gz", ".bz2", ".lzma", ".zst"}) {
    if (relative_path.ends_with(suffix)) return true;
  }
  return false;
}

// Asks the verifier for the decompressed text of a compressed index, and
// offers it the cached copy named by the downloaded file's hash.
void request_index_text(PreparedRequest& p, ipc::proto::VerifierRequest::IndexFile::Builder out, IndexSlot& slot,
                        const fs::path& text_dir, PackageCache* cache) {
  if (!is_compressed_index(slot.relative_path)) return;
  slot.text_out = text_dir / (slot.download.filename().string() + ".text");
  out.initUncompressedOut().setSlot(p.add_fd(slot.text_out, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW));
  if (cache == nullptr || slot.fetched_sha256.size() != 64) return;
  const fs::path cached = cache->index_text_path(slot.fetched_sha256);
  sandbox::UniqueFd fd(::open(cached.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return;
  slot.cached = cached;
  out.initCachedUncompressed().setSlot(p.add_fd(cached, O_RDONLY | O_NOFOLLOW));
}

// Where the resolver reads the text of one verified index, per the verifier.
void use_index_text(const ipc::proto::VerifierResult::Index::Reader index, IndexSlot& slot, PackageCache* cache,
                     Resolution& out) {
  using Uncompressed = ipc::proto::VerifierResult::Index::Uncompressed;
  if (index.getCacheRefusal().size() > 0) {
    out.cache_refusals.push_back("'" + slot.cached.string() + "': " + index.getCacheRefusal().cStr());
  }
  switch (index.getUncompressed()) {
    case Uncompressed::CACHED:
      slot.text = slot.cached;
      ++out.indexes_cached;
      return;
    case Uncompressed::WRITTEN:
      ++out.indexes_decompressed;
      slot.text = slot.text_out;
      // Kept only when the Release lists the text, so a later run can check it.
      if (cache != nullptr && index.getUncompressedSha256().size() > 0) {
        slot.text = cache->commit_index_text(slot.text_out, index.getSha256().cStr(),
                                             index.getUncompressedSha256().cStr(), index.getUncompressedSize());
      }
      return;
    case Uncompressed::NONE: return;
  }
}

// Release Dates may not go back, and a key fetched with no pinned
// fingerprint must be the one trusted on its first use (repository_trust.hpp).
void check_against_earlier_builds(ipc::proto::VerifierResult::Reader result, const std::vector<Repository>& repos,
                                  const fs::path& cache_root, std::vector<std::string>& warnings) {
  RepositoryTrust trust(cache_root / kRepositoryTrustFile);
  for (auto verified : result.getVerifiedRepos()) {
    const auto repo = std::find_if(repos.begin(), repos.end(),
                                   [&](const Repository& r) { return r.name == verified.getName().cStr(); });
    if (repo == repos.end()) continue;
    const std::string identity = repository_identity(repo->base_url, repo->suite);
    trust.accept_release_date(identity, repo->name, verified.getDate());
    const bool first_use = std::any_of(repo->keys.begin(), repo->keys.end(), [](const RepoKey& key) {
      return is_remote(key.location) && key.fingerprints.empty();
    });
    if (!first_use) continue;
    if (auto warning = trust.accept_first_use_signer(identity, repo->name, verified.getSignerFingerprint())) {
      warnings.push_back(std::move(*warning));
    }
  }
  trust.save();
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
  if (image.system_config) {
    if (image.system_config->kernel) {
      for (const auto& name : image.system_config->kernel->packages) add(name, PackageSource::KERNEL);
    }
    for (const auto& name : image.system_config->packages) add(name, PackageSource::SYSTEM);
  }
  return out;
}

void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                         const config::ImageTemplate& image, RepositoryList repos, const PipelineOptions& options,
                         Resolution& out) {
  file_timeout_sec(options);  // a malformed variable fails before any stage starts
  const fs::path metadata = options.workspace / "metadata";
  fs::create_directories(metadata);
  out.lock.family = "deb";
  out.lock.provider_id = provider.id;
  out.lock.os = provider.os;
  out.lock.dist = provider.dist;
  out.lock.arch = provider.arch;
  out.lock.repositories.clear();
  auto state = std::make_shared<ResolutionState>();
  for (const auto& repo : *repos) {
    out.lock.repositories.push_back({repo.name, repo.base_url, {}, {repo.suite, repo.components}});
    for (const auto& index : repo.index_paths()) {
      const fs::path download = metadata / index_name(repo, index);
      state->indexes.push_back({repo.name, index, download, {}, {}, {}, download});
    }
  }
  if (options.cache != nullptr) state->staging = options.cache->make_staging_area();

  orchestrator.add(StageJob{
      .name = "fetch-metadata",
      .kind = ipc::proto::StageKind::FETCHER,
      .after = {},
      .prepare =
          [repos, metadata, options] {
            PreparedRequest p;
            auto fetch = p.init_request().initFetcher();
            std::vector<std::tuple<std::string, std::string, std::uint64_t>> downloads;  // url, name, cap
            for (const auto& repo : *repos) {
              downloads.emplace_back(repo.url_of("dists/" + repo.suite + "/InRelease"), release_name(repo),
                                     kReleaseCapBytes);
              for (const auto& index : repo.index_paths()) {
                downloads.emplace_back(repo.url_of("dists/" + repo.suite + "/" + index), index_name(repo, index),
                                       kIndexCapBytes);
              }
              for (std::size_t i = 0; i < repo.keys.size(); ++i) {
                if (!is_remote(repo.keys[i].location)) continue;
                ipc::require(repo.keys[i].location.rfind("https://", 0) == 0,
                             "repository '" + repo.name + "': its key must come over https or from a local file: " +
                                 repo.keys[i].location);
                downloads.emplace_back(repo.keys[i].location, key_name(repo, i), kKeyCapBytes);
              }
            }
            auto list = fetch.initDownloads(static_cast<unsigned>(downloads.size()));
            for (std::size_t i = 0; i < downloads.size(); ++i) {
              list[i].setUrl(std::get<0>(downloads[i]));
              list[i].setDestName(std::get<1>(downloads[i]));
              list[i].setMaxSize(std::get<2>(downloads[i]));
            }
            p.add_dir(fetch.initOutputDir(), metadata, true);
            fill_common_fetch(fetch, options);
            // Indexes are checked against the signed Release by the verifier.
            fetch.setAllowPlainHttp(true);
            return p;
          },
      .on_success =
          [state](const StageOutcome& outcome) {
            for (auto file : outcome.result_reader().getFetcher().getFiles()) {
              for (IndexSlot& slot : state->indexes) {
                if (slot.download.filename() == file.getDestName().cStr()) slot.fetched_sha256 = file.getSha256();
              }
            }
          },
      .timeout = stage_info(ipc::proto::StageKind::FETCHER).default_timeout,
  });

  orchestrator.add(StageJob{
      .name = "verify-metadata",
      .kind = ipc::proto::StageKind::VERIFIER,
      .after = {"fetch-metadata"},
      .prepare =
          [repos, metadata, state, cache = options.cache] {
            PreparedRequest p;
            auto verify = p.init_request().initVerifier();
            const fs::path text_dir = state->staging ? state->staging->dir() : metadata;
            std::vector<const Repository*> checked;
            for (const auto& repo : *repos) {
              if (!repo.trusted) checked.push_back(&repo);
            }
            auto list = verify.initRepositories(static_cast<unsigned>(checked.size()));
            for (std::size_t r = 0; r < checked.size(); ++r) {
              const Repository& repo = *checked[r];
              auto out = list[r];
              out.setName(repo.name);
              out.setSuite(repo.suite);
              out.initArchitectures(1).set(0, repo.architecture);
              auto components = out.initComponents(static_cast<unsigned>(repo.components.size()));
              for (std::size_t i = 0; i < repo.components.size(); ++i) components.set(i, repo.components[i]);
              out.getReleaseFiles().initInRelease().setSlot(p.add_fd(metadata / release_name(repo), kFetchedFile));
              std::vector<std::pair<std::size_t, std::string>> keys;  // key index, fingerprint
              for (std::size_t i = 0; i < repo.keys.size(); ++i) {
                if (repo.keys[i].fingerprints.empty()) keys.emplace_back(i, "");
                for (const auto& fp : repo.keys[i].fingerprints) keys.emplace_back(i, fp);
              }
              auto key_list = out.initKeys(static_cast<unsigned>(keys.size()));
              for (std::size_t k = 0; k < keys.size(); ++k) {
                const auto& key = repo.keys[keys[k].first];
                const bool fetched = is_remote(key.location);
                const fs::path file = fetched ? metadata / key_name(repo, keys[k].first)
                                              : fs::path(local_key_path(key.location));
                key_list[k].initFile().setSlot(p.add_fd(file, fetched ? kFetchedFile : O_RDONLY));
                key_list[k].setFingerprint(keys[k].second);
              }
              const auto indexes = repo.index_paths();
              auto index_list = out.initIndexFiles(static_cast<unsigned>(indexes.size()));
              for (std::size_t i = 0; i < indexes.size(); ++i) {
                index_list[i].setRelativePath(indexes[i]);
                index_list[i].initFile().setSlot(p.add_fd(metadata / index_name(repo, indexes[i]), kFetchedFile));
                request_index_text(p, index_list[i], *state->find(repo.name, indexes[i]), text_dir, cache);
              }
            }
            return p;
          },
      .on_success =
          [&out, repos, state, cache = options.cache](const StageOutcome& outcome) {
            auto result = outcome.result_reader().getVerifier();
            if (result.getFailures().size() > 0) {
              auto first = result.getFailures()[0];
              throw ipc::Error(ipc::ErrorKind::kInvalidInput,
                               std::string(first.getItem().cStr()) + ": " + first.getReason().cStr());
            }
            if (cache != nullptr) check_against_earlier_builds(result, *repos, cache->root(), out.warnings);
            for (auto repo : result.getVerifiedRepos()) {
              for (auto& locked : out.lock.repositories) {
                if (locked.name == repo.getName().cStr()) locked.signer_fingerprint = repo.getSignerFingerprint();
              }
            }
            for (auto index : result.getVerifiedIndexes()) {
              IndexSlot* slot = state->find(index.getRepo().cStr(), index.getRelativePath().cStr());
              if (slot != nullptr) use_index_text(index, *slot, cache, out);
            }
          },
      .timeout = stage_info(ipc::proto::StageKind::VERIFIER).default_timeout,
  });

  const auto requested = requested_packages(provider, image);
  orchestrator.add(StageJob{
      .name = "resolve",
      .kind = ipc::proto::StageKind::RESOLVER,
      .after = {"verify-metadata"},
      .prepare =
          [repos, state, requested, options, arch = provider.package_arch] {
            PreparedRequest p;
            auto resolve = p.init_request().initResolver();
            std::size_t count = 0;
            for (const auto& repo : *repos) count += repo.index_paths().size();
            auto indexes = resolve.initIndexes(static_cast<unsigned>(count));
            std::size_t i = 0;
            for (const auto& repo : *repos) {
              for (const auto& index : repo.index_paths()) {
                auto out = indexes[i++];
                out.setRepoName(repo.name);
                out.initPackages().setSlot(p.add_fd(state->find(repo.name, index)->text, kFetchedFile));
                out.setBaseUrl(repo.base_url);
                out.setPriority(repo.priority);
                auto allow = out.initAllowPackages(static_cast<unsigned>(repo.allow_packages.size()));
                for (std::size_t a = 0; a < repo.allow_packages.size(); ++a) allow.set(a, repo.allow_packages[a]);
              }
            }
            auto list = resolve.initRequested(static_cast<unsigned>(requested.size()));
            for (std::size_t r = 0; r < requested.size(); ++r) {
              list[r].setName(requested[r].name);
              list[r].setVersion(requested[r].version_pin);
              list[r].setSource(requested[r].source);
            }
            resolve.setArchitecture(arch);
            resolve.setEssential(ipc::proto::ResolverRequest::EssentialMode::REQUIRED);
            resolve.setEmitDotGraph(options.dot_graph);
            return p;
          },
      .on_success =
          [&out](const StageOutcome& outcome) {
            auto result = outcome.result_reader().getResolver();
            out.lock.packages.clear();
            for (auto pkg : result.getPackages()) {
              LockedPackage locked{pkg.getName(), pkg.getVersion(), pkg.getArchitecture(), pkg.getRepo(),
                                   pkg.getUrl(), pkg.getFilename(), pkg.getSha256(), pkg.getSize(),
                                   source_name(pkg.getSource()), {pkg.getEssential(), {}}};
              for (auto dep : pkg.getPreDepends()) locked.deb.pre_depends.emplace_back(dep);
              ipc::require(locked.sha256.size() == 64,
                           "the index entry of package '" + locked.name + "' has no SHA256 checksum");
              out.lock.packages.push_back(std::move(locked));
            }
            out.lock.install_order.clear();
            for (auto name : result.getInstallOrder()) out.lock.install_order.emplace_back(name);
            // Checked as a lockfile read from disk is: every Filename inside
            // its repository, every URL that repository's.
            lockfile_from_json(lockfile_to_json(out.lock), "the resolver's result");
            out.dot_graph = result.getDotGraph();
          },
      .timeout = stage_info(ipc::proto::StageKind::RESOLVER).default_timeout,
  });
}

}  // namespace supervisor::deb
