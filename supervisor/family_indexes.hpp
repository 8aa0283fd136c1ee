// What the families share for their repository indexes: a compressed index
// is decompressed once by the verifier and its text kept in the package
// cache by the compressed file's hash (PackageCache::index_text_path), so a
// later build offers the cached copy and the verifier checks it against the
// signed metadata instead of decompressing again.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "stages/verifier/client.hpp"
#include "supervisor/cache/package_cache.hpp"
#include "supervisor/family.hpp"
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

}  // namespace supervisor
