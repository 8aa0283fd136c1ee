#include "stages/verifier/index_decompress.hpp"

#include <archive.h>

#include <array>
#include <memory>

#include "base/error.hpp"

namespace stage::verifier {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};

[[noreturn]] void fail_archive(archive* a, std::string_view name) {
  const char* why = archive_error_string(a);
  base::fail(base::ErrorKind::kInvalidInput,
             "Failed to decompress " + std::string(name) + ": " + (why != nullptr ? why : "unknown error"));
}

}  // namespace

void decompress_bounded(std::string_view compressed, std::string_view name, const TextLimit& limit,
                        const ChunkSink& sink) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  base::check(a != nullptr, "Failed to allocate a libarchive reader");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a.get(), compressed.data(), compressed.size()) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    fail_archive(a.get(), name);
  }
  std::array<char, 65536> buf{};
  std::uint64_t total = 0;
  for (;;) {
    const la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0) fail_archive(a.get(), name);
    if (n == 0) return;
    total += static_cast<std::uint64_t>(n);
    if (total > limit.bytes) {
      base::fail(base::ErrorKind::kInvalidInput, "Failed to decompress " + std::string(name) +
                                                     ": its text passes " + limit.reason + " (stopped after " +
                                                     std::to_string(total) + " bytes of it)");
    }
    sink(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
}

}  // namespace stage::verifier
