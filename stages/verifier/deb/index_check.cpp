#include "stages/verifier/deb/index_check.hpp"

#include <charconv>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "stages/verifier/deb/deb822.hpp"
#include "stages/verifier/file_bytes.hpp"

namespace stage::verifier {
namespace {

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

// Where the Release lists the uncompressed text of `index_path`, when compressed.
std::optional<std::string_view> uncompressed_path(std::string_view index_path) {
  for (const std::string_view suffix : kCompressedSuffixes) {
    if (index_path.ends_with(suffix)) return index_path.substr(0, index_path.size() - suffix.size());
  }
  return std::nullopt;
}

std::optional<Digest> listed_digest(const Release& release, std::string_view path) {
  if (const ReleaseFile* entry = release.find_file(path)) return Digest{entry->sha256, entry->size};
  return std::nullopt;
}

// The smaller of `ceiling` and the size listed for the text at `base`.
TextLimit text_limit(const std::optional<Digest>& listed, std::string_view base, std::uint64_t ceiling) {
  if (listed && listed->size <= ceiling) {
    return {listed->size, "the " + std::to_string(listed->size) + " bytes listed for '" + std::string(base) + "'"};
  }
  if (ceiling == kMaxIndexTextBytes) return {};
  return {ceiling, "the " + std::to_string(ceiling) + " bytes any index text may be at most"};
}

// Decompresses `bytes` within `limit`, handing the text to `text_fd` (when
// >= 0) as it comes out. Returns the text's digest.
Digest decompress_index(std::string_view bytes, const std::string& what, const TextLimit& limit, int text_fd) {
  const std::string output = "uncompressed output of " + what;
  return sha256_of_stream([&](const ChunkSink& hash) {
    decompress_bounded(bytes, what, limit, [&](std::string_view chunk) {
      hash(chunk);
      if (text_fd >= 0) base::write_all(text_fd, chunk, output);
    });
  });
}

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
                           std::string_view repository, const IndexTextOptions& options) {
  IndexText out;
  out.digest = sha256_of_bytes(bytes);
  check_index(release, index_path, out.digest, repository);
  const std::optional<std::string_view> base = uncompressed_path(index_path);
  if (!base) return out;
  out.listed = listed_digest(release, *base);
  if (options.cached_fd >= 0) {
    out.cache_refusal = refuse_cached(options.cached_fd, options.cached_name, out.listed, *base);
    if (out.cache_refusal.empty()) {
      out.source = IndexText::Source::kCached;
      return out;
    }
  }
  if (!out.listed && options.text_fd < 0) return out;
  const std::string what = "index '" + std::string(index_path) + "' of repository '" + std::string(repository) + "'";
  const Digest text = decompress_index(bytes, what, text_limit(out.listed, *base, options.ceiling), options.text_fd);
  if (out.listed) check_index(release, *base, text, repository);
  if (options.text_fd >= 0) out.source = IndexText::Source::kDecompressed;
  return out;
}

Digest check_index_bytes(const Release& release, std::string_view index_path,
                         std::string_view bytes, std::string_view repository) {
  return check_index_text(release, index_path, bytes, repository).digest;
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
    const std::optional<Digest> listed = listed_digest(release, base);
    const std::string what = "index '" + (dist_dir / candidate).string() + "' of repository '" +
                             std::string(repository) + "'";
    std::string text;
    decompress_bounded(*bytes, what, text_limit(listed, base, kMaxIndexTextBytes),
                       [&](std::string_view chunk) { text += chunk; });
    if (listed) check_index(release, base, sha256_of_bytes(text), repository);
    return text;
  }
  base::fail(base::ErrorKind::kInvalidInput,
            "Failed to find index '" + base + "' of repository '" + std::string(repository) +
                "' under '" + dist_dir.string() + "' (.xz, .gz or plain, listed in the Release)");
}

}  // namespace stage::verifier
