#include "supervisor/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <vector>

#include "ipc/error.hpp"
#include "sandbox/unique_fd.hpp"

namespace supervisor {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

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
  ipc::check(EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) == 1,
             "Failed to compute SHA-256");
  return to_hex(digest.data(), size);
}

std::string sha256_of_file(const std::filesystem::path& path) {
  sandbox::UniqueFd fd(ipc::check_syscall(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open", path.string()));
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  ipc::check(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1, "Failed to initialise SHA-256");
  std::vector<char> buffer(1 << 20);
  ssize_t n;
  while ((n = ::read(fd.get(), buffer.data(), buffer.size())) > 0) {
    ipc::check(EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n)) == 1, "Failed to hash");
  }
  ipc::check_syscall(n, "read", path.string());
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  ipc::check(EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) == 1, "Failed to finish SHA-256");
  return to_hex(digest.data(), size);
}

}  // namespace supervisor
