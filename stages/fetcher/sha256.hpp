// Streaming SHA-256 over libcrypto's EVP interface, used while a body streams
// to disk so a download is hashed once, without re-reading it.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace stage::fetcher {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  // Feeds the first `length` bytes of `fd` (read with pread from offset 0).
  void update_from_fd(int fd, std::uint64_t length, std::string_view path_for_errors);
  // Lowercase hex of the digest; the hasher starts over afterwards.
  std::string finish_hex();
  void reset();

 private:
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const noexcept;
  };
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx_;
};

// True for exactly 64 lowercase hex digits.
bool is_sha256_hex(std::string_view text) noexcept;

}  // namespace stage::fetcher
