#include "stages/verifier/checksums.hpp"

#include <fcntl.h>
#include <gcrypt.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <mutex>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::verifier {
namespace {

void init_gcrypt() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Only public data is hashed, so no secure memory is needed.
    base::check(gcry_check_version(GCRYPT_VERSION) != nullptr, "Failed to initialize libgcrypt");
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
  });
}

class Sha256 {
 public:
  Sha256() {
    init_gcrypt();
    base::check(gcry_md_open(&hd_, GCRY_MD_SHA256, 0) == 0, "Failed to open a SHA-256 context");
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


}  // namespace

std::string digest_mismatch(const Digest& expected, const Digest& actual) {
  return "expected SHA256 " + expected.sha256 + " (" + std::to_string(expected.size) +
         " bytes), got " + actual.sha256 + " (" + std::to_string(actual.size) + " bytes)";
}

Digest sha256_of_bytes(std::string_view bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.finish();
}

Digest sha256_of_file(const std::filesystem::path& file) {
  base::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  base::check_syscall(fd.get(), "open", file.string());
  return sha256_of_fd(fd.get(), file.string());
}

Digest sha256_of_fd(int fd, std::string_view name) {
  Sha256 h;
  std::array<char, 65536> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", name);
    if (n == 0) return h.finish();
    h.update(buf.data(), static_cast<std::size_t>(n));
  }
}

Digest sha256_of_stream(const std::function<void(const ChunkSink&)>& produce) {
  Sha256 h;
  produce([&h](std::string_view chunk) { h.update(chunk.data(), chunk.size()); });
  return h.finish();
}

void check_package(const PackageRecord& record, const Digest& actual,
                   std::string_view repository) {
  if (record.sha256 == actual.sha256 && record.size == actual.size) return;
  std::string what = "'" + record.package + "'";
  if (!record.version.empty()) what += " " + record.version;
  if (!record.filename.empty()) what += " (" + record.filename + ")";
  base::fail(base::ErrorKind::kInvalidInput,
            "Failed to verify package " + what + " from repository '" + std::string(repository) +
                "': " + digest_mismatch({record.sha256, record.size}, actual));
}

void check_package_file(const PackageRecord& record, const std::filesystem::path& deb,
                        std::string_view repository) {
  check_package(record, sha256_of_file(deb), repository);
}

}  // namespace stage::verifier
