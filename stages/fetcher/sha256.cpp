#include "stages/fetcher/sha256.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "base/error.hpp"

namespace stage::fetcher {

void Sha256::CtxDeleter::operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  base::check(ctx_ != nullptr, "Failed to allocate a SHA-256 context");
  reset();
}

void Sha256::reset() {
  base::check(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1,
             "Failed to initialise SHA-256");
}

void Sha256::update(const void* data, std::size_t size) {
  base::check(EVP_DigestUpdate(ctx_.get(), data, size) == 1, "Failed to update SHA-256");
}

void Sha256::update_from_fd(int fd, std::uint64_t length, std::string_view path_for_errors) {
  std::array<char, 1 << 16> buffer;
  std::uint64_t offset = 0;
  while (offset < length) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - offset));
    const ssize_t got = base::check_syscall(
        ::pread(fd, buffer.data(), want, static_cast<off_t>(offset)), "read", path_for_errors);
    base::check(got > 0, "Failed to read '" + std::string(path_for_errors) + "': file shrank while hashing");
    update(buffer.data(), static_cast<std::size_t>(got));
    offset += static_cast<std::uint64_t>(got);
  }
}

std::string Sha256::finish_hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int size = 0;
  base::check(EVP_DigestFinal_ex(ctx_.get(), digest.data(), &size) == 1, "Failed to finish SHA-256");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  reset();
  return hex;
}

bool is_sha256_hex(std::string_view text) noexcept {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace stage::fetcher
