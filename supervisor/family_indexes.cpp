#include "supervisor/family_indexes.hpp"

#include <fcntl.h>

#include "base/unique_fd.hpp"

namespace supervisor {

namespace fs = std::filesystem;
namespace verifier_client = stage::verifier::client;

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

}  // namespace supervisor
