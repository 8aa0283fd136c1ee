#include "stages/verifier/deb/index_check.hpp"

#include <archive.h>

#include <array>
#include <charconv>
#include <memory>

#include "base/error.hpp"
#include "stages/verifier/deb/deb822.hpp"
#include "stages/verifier/file_bytes.hpp"

namespace stage::verifier {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};

// Packages indexes are small (tens of MB at most), so they are decompressed
// in memory with libarchive's raw format.
std::string decompress(std::string_view bytes, std::string_view name) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  base::check(a != nullptr, "Failed to allocate a libarchive reader");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to decompress '" + std::string(name) +
                                                 "': " + archive_error_string(a.get()));
  }
  std::string out;
  std::array<char, 65536> buf{};
  for (;;) {
    const la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0) {
      base::fail(base::ErrorKind::kInvalidInput, "Failed to decompress '" + std::string(name) +
                                                   "': " + archive_error_string(a.get()));
    }
    if (n == 0) return out;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::vector<PackageRecord> parse_packages(std::string_view text, std::string_view origin) {
  std::vector<PackageRecord> records;
  for (const Deb822Paragraph& p : parse_deb822(text, origin)) {
    PackageRecord r;
    r.package = p.get("Package").value_or("");
    const std::string where = "'" + std::string(origin) + "' entry '" + r.package + "'";
    base::require(!r.package.empty(), "Failed to parse '" + std::string(origin) +
                                         "': an entry has no Package field");
    r.version = p.get("Version").value_or("");
    r.architecture = p.get("Architecture").value_or("");
    r.filename = p.get("Filename").value_or("");
    r.sha256 = p.get("SHA256").value_or("");
    const bool size_ok = parse_u64(p.get("Size").value_or(""), r.size);
    base::require(!r.version.empty() && !r.architecture.empty() && !r.filename.empty(),
                 "Failed to parse " + where + ": Version, Architecture or Filename missing");
    base::require(size_ok && r.sha256.size() == 64,
                 "Failed to parse " + where + ": Size or SHA256 missing or malformed");
    records.push_back(std::move(r));
  }
  return records;
}

void check_index(const Release& release, std::string_view index_path, const Digest& actual,
                 std::string_view repository) {
  const ReleaseFile* listed = release.find_file(index_path);
  base::require(listed != nullptr, "Failed to verify index '" + std::string(index_path) +
                                      "' of repository '" + std::string(repository) +
                                      "': it is not listed in the Release SHA256 list");
  if (listed->sha256 != actual.sha256 || listed->size != actual.size) {
    base::fail(base::ErrorKind::kInvalidInput,
              "Failed to verify index '" + std::string(index_path) + "' of repository '" +
                  std::string(repository) + "': " + digest_mismatch({listed->sha256, listed->size}, actual));
  }
}

namespace {

constexpr std::string_view kCompressedSuffixes[] = {".xz", ".gz", ".bz2", ".lzma", ".zst"};

// The cached copy's refusal, or empty when it matches `listed`.
std::string refuse_cached(int cached_fd, std::string_view cached_name, const std::optional<Digest>& listed,
                          std::string_view base) {
  if (!listed) {
    return std::string(cached_name) + " cannot be checked: the Release does not list '" + std::string(base) + "'";
  }
  const Digest actual = sha256_of_fd(cached_fd, cached_name);
  if (actual.sha256 == listed->sha256 && actual.size == listed->size) return {};
  return std::string(cached_name) + " is corrupt: " + digest_mismatch(*listed, actual);
}

}  // namespace

IndexText check_index_text(const Release& release, std::string_view index_path, std::string_view bytes,
                           std::string_view repository, bool want_text, int cached_fd,
                           std::string_view cached_name) {
  IndexText out;
  out.digest = sha256_of_bytes(bytes);
  check_index(release, index_path, out.digest, repository);
  for (const std::string_view suffix : kCompressedSuffixes) {
    if (!index_path.ends_with(suffix)) continue;
    const std::string_view base = index_path.substr(0, index_path.size() - suffix.size());
    if (const ReleaseFile* entry = release.find_file(base)) out.listed = Digest{entry->sha256, entry->size};
    if (cached_fd >= 0) {
      out.cache_refusal = refuse_cached(cached_fd, cached_name, out.listed, base);
      if (out.cache_refusal.empty()) {
        out.source = IndexText::Source::kCached;
        return out;
      }
    }
    if (!out.listed && !want_text) return out;
    std::string text = decompress(bytes, index_path);
    if (out.listed) check_index(release, base, sha256_of_bytes(text), repository);
    if (!want_text) return out;
    out.text = std::move(text);
    out.source = IndexText::Source::kDecompressed;
    return out;
  }
  return out;
}

Digest check_index_bytes(const Release& release, std::string_view index_path,
                         std::string_view bytes, std::string_view repository) {
  return check_index_text(release, index_path, bytes, repository, false).digest;
}

std::string load_verified_index(const Release& release, const std::filesystem::path& dist_dir,
                                std::string_view index_base, std::string_view repository) {
  const std::string base(index_base);
  for (const std::string& candidate : {base + ".xz", base + ".gz", base}) {
    if (release.find_file(candidate) == nullptr) continue;
    auto bytes = read_file_bytes_if_exists(dist_dir / candidate);
    if (!bytes) continue;
    check_index(release, candidate, sha256_of_bytes(*bytes), repository);
    if (candidate == base) return std::move(*bytes);
    std::string text = decompress(*bytes, (dist_dir / candidate).string());
    if (release.find_file(base) != nullptr) {
      check_index(release, base, sha256_of_bytes(text), repository);
    }
    return text;
  }
  base::fail(base::ErrorKind::kInvalidInput,
            "Failed to find index '" + base + "' of repository '" + std::string(repository) +
                "' under '" + dist_dir.string() + "' (.xz, .gz or plain, listed in the Release)");
}

}  // namespace stage::verifier
