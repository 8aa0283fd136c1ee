// SHA-256 as lower-case hex, of bytes in memory or of a file's content.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace supervisor {

std::string sha256_hex(std::string_view data);

// Streams the file; an unreadable file is an base::Error naming it.
std::string sha256_of_file(const std::filesystem::path& path);

// The content of the open file `fd` from offset 0 (pread: the file offset
// is left alone). `shown` names the file in errors.
std::string sha256_of_fd(int fd, std::string_view shown);

// SHA-256 fed piece by piece (e.g. while a file is copied).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(const void* data, std::size_t size);
  std::string finish();  // lower-case hex; call once

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace supervisor
