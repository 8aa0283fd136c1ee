// User passwords as crypt(3) hashes: the installer only ever sees hashes.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace supervisor {

// The /etc/shadow hash for a template user's `password` with `hash_algo`
// (sha512 when empty; sha256, yescrypt, bcrypt; md5 is refused as too weak).
// A password starting with '$' is already a hash: it is checked for a known
// crypt(3) shape and kept. No password gives "" (a locked account).
// The salt is made from `salt_bytes` (kSaltBytes of them; a build derives
// them, docs/reproducible-builds.md), or from the OS's random source when
// empty. Throws base::Error(kInvalidInput) naming `user` for a bad algo or hash.
inline constexpr std::size_t kSaltBytes = 16;
std::string hash_password(std::string_view user, const std::optional<std::string>& password,
                          std::string_view hash_algo, std::span<const unsigned char> salt_bytes = {});

}  // namespace supervisor
