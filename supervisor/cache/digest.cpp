#include "supervisor/cache/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {
namespace {

std::string to_hex(const unsigned char* digest, unsigned int size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  base::check(EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) == 1,
             "Failed to compute SHA-256");
  return to_hex(digest.data(), size);
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  base::check(ctx_ != nullptr && EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) == 1,
             "Failed to initialise SHA-256");
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Stream::update(const void* data, std::size_t size) {
  base::check(EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size) == 1, "Failed to hash");
}

std::string Sha256Stream::finish() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  base::check(EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest.data(), &size) == 1,
             "Failed to finish SHA-256");
  return to_hex(digest.data(), size);
}

std::string sha256_of_fd(int fd, std::string_view shown) {
  Sha256Stream hash;
  std::vector<char> buffer(1 << 20);
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", shown);
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    offset += n;
  }
  return hash.finish();
}

std::string sha256_of_file(const std::filesystem::path& path) {
  base::UniqueFd fd(base::check_syscall(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open", path.string()));
  return sha256_of_fd(fd.get(), path.string());
}

}  // namespace supervisor
