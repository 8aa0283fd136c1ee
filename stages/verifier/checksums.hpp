// SHA-256 + size: digests of bytes, files and fds, and the check of a
// package file against what its repository's index lists. Every mismatch
// names the package, the repository and both hashes. Shared by every
// package family; Debian's Release → Packages chain is deb/index_check.hpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace stage::verifier {

struct Digest {
  std::string sha256;  // lower-case hex
  std::uint64_t size = 0;
};

Digest sha256_of_bytes(std::string_view bytes);
Digest sha256_of_file(const std::filesystem::path& file);  // streams the file
// Streams `fd` from its current offset to the end; `name` names it in errors.
Digest sha256_of_fd(int fd, std::string_view name);
// Hashes what `produce` hands to the function it is given, chunk by chunk:
// a stream (a text being decompressed) hashed without being kept.
using ChunkSink = std::function<void(std::string_view chunk)>;
Digest sha256_of_stream(const std::function<void(const ChunkSink&)>& produce);

// "expected SHA256 <hex> (<n> bytes), got <hex> (<n> bytes)"
std::string digest_mismatch(const Digest& expected, const Digest& actual);

// A package as its repository's index lists it (what the verifier needs).
struct PackageRecord {
  std::string package;
  std::string version;
  std::string architecture;
  std::string filename;  // relative to the repository root
  std::uint64_t size = 0;
  std::string sha256;
};

// Version and filename appear in the message when set.
void check_package(const PackageRecord& record, const Digest& actual,
                   std::string_view repository);
void check_package_file(const PackageRecord& record, const std::filesystem::path& deb,
                        std::string_view repository);

}  // namespace stage::verifier
