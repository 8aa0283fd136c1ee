#include "supervisor/deb/release_reuse.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/build/package_fetch.hpp"
#include "supervisor/cache/digest.hpp"
#include "supervisor/cache/verified_releases.hpp"

namespace supervisor::deb {
namespace {

namespace fs = std::filesystem;
namespace verifier_client = stage::verifier::client;

// In the cache root, beside repositories.json: no stage can write there.
constexpr const char* kVerifiedReleasesFile = "verified-releases.json";

// An open regular file, or an invalid fd.
base::UniqueFd open_regular(const fs::path& path, int flags) {
  base::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  struct stat st {};
  if (fd && (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))) return {};
  return fd;
}

std::string key_hash(const Repository& repo, std::size_t index, const fs::path& metadata) {
  const KeyFile file = key_file(repo.name, repo.keys, index, metadata);
  base::UniqueFd fd = open_regular(file.path, file.open_flags);
  base::require(static_cast<bool>(fd), "Failed to read key '" + file.path.string() + "' of repository '" +
                                           repo.name + "'");
  return sha256_of_fd(fd.get(), file.path.string());
}

// The cached text `slot` needs, when it is the one `listed` names.
bool cached_text_matches(const verifier_client::ListedFile& listed, const PackageCache& cache, IndexSlot& slot) {
  if (listed.uncompressed_sha256.size() != 64 || !is_compressed_index(slot.relative_path)) return false;
  const fs::path text = cache.index_text_path(listed.sha256);
  base::UniqueFd fd = open_regular(text, O_RDONLY | O_NOFOLLOW);
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != listed.uncompressed_size) {
    return false;
  }
  if (sha256_of_fd(fd.get(), text.string()) != listed.uncompressed_sha256) return false;
  slot.cached = text;
  slot.fetched_sha256 = listed.sha256;
  return true;
}

// A Release lists an index's text on a line of its own ("Packages" beside
// "Packages.xz"): its hash and size go into the compressed entry, the one
// record a later run looks up.
verifier_client::VerifiedRepo with_text_hashes(verifier_client::VerifiedRepo verified,
                                               const std::vector<std::string>& indexes) {
  for (const std::string& index : indexes) {
    if (!is_compressed_index(index)) continue;
    const verifier_client::ListedFile* text = verified.find_listed(fs::path(index).replace_extension().string());
    if (text == nullptr) continue;
    const verifier_client::ListedFile found = *text;
    for (auto& listed : verified.listed_files) {
      if (listed.relative_path != index || !listed.uncompressed_sha256.empty()) continue;
      listed.uncompressed_sha256 = found.sha256;
      listed.uncompressed_size = found.size;
    }
  }
  return verified;
}

}  // namespace

std::string release_verdict_key(const Repository& repo, int in_release_fd, const fs::path& metadata) {
  std::string material = "deb InRelease verdict 1\nInRelease " + sha256_of_fd(in_release_fd, repo.in_release_name()) +
                         "\nsuite " + repo.suite + "\narchitecture " + repo.architecture + "\n";
  for (const auto& component : repo.components) material += "component " + component + "\n";
  for (const auto& index : repo.index_paths()) material += "index " + index + "\n";
  for (std::size_t i = 0; i < repo.keys.size(); ++i) {
    material += "key " + key_hash(repo, i, metadata);
    for (const auto& pin : repo.keys[i].fingerprints) material += " pin " + pin;
    material += "\n";
  }
  return sha256_hex(material);
}

std::optional<ReleaseVerdicts> recall_release_verdicts(const std::vector<Repository>& repos, const fs::path& metadata,
                                                       const fs::path& cache_root, std::int64_t now) {
  const VerifiedReleases store(cache_root / kVerifiedReleasesFile);
  ReleaseVerdicts out;
  for (const Repository& repo : repos) {
    if (repo.trusted) continue;
    base::UniqueFd in_release = open_regular(metadata / repo.in_release_name(), kFetchedFile);
    if (!in_release) return std::nullopt;
    std::string key;
    try {
      key = release_verdict_key(repo, in_release.get(), metadata);
    } catch (const base::Error&) {
      return std::nullopt;  // an unreadable key: the verifier names it
    }
    auto verdict = store.recall(key, now);
    if (!verdict) return std::nullopt;
    verdict->name = repo.name;
    out.emplace(repo.name, std::move(*verdict));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

bool use_cached_index_texts(const ReleaseVerdicts& verdicts, const std::vector<IndexSlot*>& slots,
                            const PackageCache& cache) {
  std::vector<IndexSlot> checked;
  for (const IndexSlot* slot : slots) {
    const auto verdict = verdicts.find(slot->repo);
    if (verdict == verdicts.end()) return false;
    const verifier_client::ListedFile* listed = verdict->second.find_listed(slot->relative_path);
    checked.push_back(*slot);
    if (listed == nullptr || !cached_text_matches(*listed, cache, checked.back())) return false;
  }
  for (std::size_t i = 0; i < slots.size(); ++i) *slots[i] = std::move(checked[i]);
  return true;
}

verifier_client::Result recalled_result(const ReleaseVerdicts& verdicts, const std::vector<IndexSlot*>& slots) {
  verifier_client::Result out;
  for (const auto& [name, verdict] : verdicts) out.verified_repos.push_back(verdict);
  for (const IndexSlot* slot : slots) {
    const verifier_client::ListedFile* listed = verdicts.at(slot->repo).find_listed(slot->relative_path);
    base::check(listed != nullptr, "recalled_result: index '" + slot->relative_path + "' is not listed");
    out.verified_indexes.push_back({.repo = slot->repo, .relative_path = slot->relative_path,
                                    .sha256 = listed->sha256, .size = listed->size,
                                    .uncompressed = verifier_client::Uncompressed::kCached,
                                    .uncompressed_sha256 = listed->uncompressed_sha256,
                                    .uncompressed_size = listed->uncompressed_size});
  }
  return out;
}

void remember_release_verdicts(const verifier_client::Result& result, const std::map<std::string, std::string>& keys,
                               const std::vector<Repository>& repos, const fs::path& cache_root) {
  VerifiedReleases store(cache_root / kVerifiedReleasesFile);
  for (const auto& verified : result.verified_repos) {
    const auto key = keys.find(verified.name);
    const auto repo = std::find_if(repos.begin(), repos.end(), [&](const Repository& r) { return r.name == verified.name; });
    if (key == keys.end() || repo == repos.end()) continue;
    store.remember(key->second, with_text_hashes(verified, repo->index_paths()), repo->index_paths());
  }
  store.save();
}

}  // namespace supervisor::deb
