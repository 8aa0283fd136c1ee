#include "stages/installer/package_digest.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace stage::installer {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

std::string sha256_of_fd(int fd, std::string_view package) {
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  base::check(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1, "Failed to initialise SHA-256");
  std::vector<char> buffer(1 << 20);
  for (off_t offset = 0;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read package", package);
    if (n == 0) break;
    base::check(EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n)) == 1, "Failed to hash");
    offset += n;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  base::check(EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) == 1, "Failed to finish SHA-256");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace

void require_package_sha256(int fd, std::string_view package, std::string_view expected_sha256) {
  const std::string actual = sha256_of_fd(fd, package);
  if (actual == expected_sha256) return;
  base::fail(base::ErrorKind::kInvalidInput, "Failed to install package '" + std::string(package) +
                                               "': its file has sha256 " + actual + ", the lockfile says " +
                                               std::string(expected_sha256));
}

}  // namespace stage::installer
