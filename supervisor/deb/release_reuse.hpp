// A lock of metadata an earlier lock verified runs no verifier: the
// verifier's verdict on each InRelease is kept in the cache root
// (verified_releases.hpp) under a key made of everything the verdict depends
// on, and each index's text is in the metadata cache under the hash the
// signed Release lists. The supervisor hashes the InRelease it fetched and
// each cached text again before it uses a verdict; anything missing,
// changed or expired sends the lock through the verifier as before.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stages/verifier/client.hpp"
#include "supervisor/cache/package_cache.hpp"
#include "supervisor/deb/repositories.hpp"
#include "supervisor/family_indexes.hpp"

namespace supervisor::deb {

// Verdicts by repository name.
using ReleaseVerdicts = std::map<std::string, stage::verifier::client::VerifiedRepo>;

// The key of the verifier's verdict on `repo`'s InRelease, read from
// `in_release_fd`: its bytes' hash, the hashes and pins of the repository's
// keys (read from `metadata` or their files), suite, architecture,
// components and index paths. Throws base::Error when a file is unreadable.
std::string release_verdict_key(const Repository& repo, int in_release_fd, const std::filesystem::path& metadata);

// The verdicts kept for every repository not marked trusted, each InRelease
// read from `metadata` (never through a symlink); nullopt when one is missing
// or expired at `now`, or no repository is verified at all.
std::optional<ReleaseVerdicts> recall_release_verdicts(const std::vector<Repository>& repos,
                                                       const std::filesystem::path& metadata,
                                                       const std::filesystem::path& cache_root, std::int64_t now);

// Points every slot at the cached text of the compressed index its
// repository's verdict lists, after checking the text's size and SHA-256
// against that listing. False, with no slot changed, when one is missing,
// unlisted or differs: the verifier then checks and replaces it.
bool use_cached_index_texts(const ReleaseVerdicts& verdicts, const std::vector<IndexSlot*>& slots,
                            const PackageCache& cache);

// What the verifier would answer on the recalled Releases and cached texts.
stage::verifier::client::Result recalled_result(const ReleaseVerdicts& verdicts,
                                                const std::vector<IndexSlot*>& slots);

// Files the verifier's verdict on each repository under its key (`keys` by
// repository name), keeping the listed files of the repository's indexes.
void remember_release_verdicts(const stage::verifier::client::Result& result,
                               const std::map<std::string, std::string>& keys, const std::vector<Repository>& repos,
                               const std::filesystem::path& cache_root);

}  // namespace supervisor::deb
