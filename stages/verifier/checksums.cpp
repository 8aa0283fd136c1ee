#include "stages/verifier/checksums.hpp"

#include <archive.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <memory>
#include <mutex>

#include "ipc/error.hpp"
#include "sandbox/unique_fd.hpp"
#include "stages/verifier/deb822.hpp"
#include "stages/verifier/file_bytes.hpp"

namespace stage::verifier {
namespace {

void init_gcrypt() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Only public data is hashed, so no secure memory is needed.
    ipc::check(gcry_check_version(GCRYPT_VERSION) != nullptr, "Failed to initialize libgcrypt");
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
  });
}

class Sha256 {
 public:
  Sha256() {
    init_gcrypt();
    ipc::check(gcry_md_open(&hd_, GCRY_MD_SHA256, 0) == 0, "Failed to open a SHA-256 context");
  }
  ~Sha256() { gcry_md_close(hd_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size) {
    gcry_md_write(hd_, data, size);
    size_ += size;
  }
  Digest finish() {
    static constexpr char kHex[] = "0123456789abcdef";
    const unsigned char* raw = gcry_md_read(hd_, GCRY_MD_SHA256);
    std::string hex;
    for (std::size_t i = 0; i < 32; ++i) {
      hex.push_back(kHex[raw[i] >> 4]);
      hex.push_back(kHex[raw[i] & 0xf]);
    }
    return {std::move(hex), size_};
  }

 private:
  gcry_md_hd_t hd_ = nullptr;
  std::uint64_t size_ = 0;
};

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};

// Packages indexes are small (tens of MB at most), so they are decompressed
// in memory with libarchive's raw format.
std::string decompress(std::string_view bytes, std::string_view name) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  ipc::check(a != nullptr, "Failed to allocate a libarchive reader");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    ipc::fail(ipc::ErrorKind::kInvalidInput, "Failed to decompress '" + std::string(name) +
                                                 "': " + archive_error_string(a.get()));
  }
  std::string out;
  std::array<char, 65536> buf{};
  for (;;) {
    const la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n < 0) {
      ipc::fail(ipc::ErrorKind::kInvalidInput, "Failed to decompress '" + std::string(name) +
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

std::string mismatch(const Digest& expected, const Digest& actual) {
  return "expected SHA256 " + expected.sha256 + " (" + std::to_string(expected.size) +
         " bytes), got " + actual.sha256 + " (" + std::to_string(actual.size) + " bytes)";
}

}  // namespace

Digest sha256_of_bytes(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.finish();
}

Digest sha256_of_file(const std::filesystem::path& file) {
  sandbox::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  ipc::check_syscall(fd.get(), "open", file.string());
  return sha256_of_fd(fd.get(), file.string());
}

Digest sha256_of_fd(int fd, std::string_view name) {
  Sha256 h;
  std::array<char, 65536> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    ipc::check_syscall(n, "read", name);
    if (n == 0) return h.finish();
    h.update(buf.data(), static_cast<std::size_t>(n));
  }
}

std::vector<PackageRecord> parse_packages(std::string_view text, std::string_view origin) {
  std::vector<PackageRecord> records;
  for (const Deb822Paragraph& p : parse_deb822(text, origin)) {
    PackageRecord r;
    r.package = p.get("Package").value_or("");
    const std::string where = "'" + std::string(origin) + "' entry '" + r.package + "'";
    ipc::require(!r.package.empty(), "Failed to parse '" + std::string(origin) +
                                         "': an entry has no Package field");
    r.version = p.get("Version").value_or("");
    r.architecture = p.get("Architecture").value_or("");
    r.filename = p.get("Filename").value_or("");
    r.sha256 = p.get("SHA256").value_or("");
    const bool size_ok = parse_u64(p.get("Size").value_or(""), r.size);
    ipc::require(!r.version.empty() && !r.architecture.empty() && !r.filename.empty(),
                 "Failed to parse " + where + ": Version, Architecture or Filename missing");
    ipc::require(size_ok && r.sha256.size() == 64,
                 "Failed to parse " + where + ": Size or SHA256 missing or malformed");
    records.push_back(std::move(r));
  }
  return records;
}

void check_index(const Release& release, std::string_view index_path, const Digest& actual,
                 std::string_view repository) {
  const ReleaseFile* listed = release.find_file(index_path);
  ipc::require(listed != nullptr, "Failed to verify index '" + std::string(index_path) +
                                      "' of repository '" + std::string(repository) +
                                      "': it is not listed in the Release SHA256 list");
  if (listed->sha256 != actual.sha256 || listed->size != actual.size) {
    ipc::fail(ipc::ErrorKind::kInvalidInput,
              "Failed to verify index '" + std::string(index_path) + "' of repository '" +
                  std::string(repository) + "': " + mismatch({listed->sha256, listed->size}, actual));
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
  return std::string(cached_name) + " is corrupt: " + mismatch(*listed, actual);
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
  ipc::fail(ipc::ErrorKind::kInvalidInput,
            "Failed to find index '" + base + "' of repository '" + std::string(repository) +
                "' under '" + dist_dir.string() + "' (.xz, .gz or plain, listed in the Release)");
}

void check_package(const PackageRecord& record, const Digest& actual,
                   std::string_view repository) {
  if (record.sha256 == actual.sha256 && record.size == actual.size) return;
  std::string what = "'" + record.package + "'";
  if (!record.version.empty()) what += " " + record.version;
  if (!record.filename.empty()) what += " (" + record.filename + ")";
  ipc::fail(ipc::ErrorKind::kInvalidInput,
            "Failed to verify package " + what + " from repository '" + std::string(repository) +
                "': " + mismatch({record.sha256, record.size}, actual));
}

void check_package_file(const PackageRecord& record, const std::filesystem::path& deb,
                        std::string_view repository) {
  check_package(record, sha256_of_file(deb), repository);
}

}  // namespace stage::verifier
