#include "supervisor/build/password_hash.hpp"

#include <crypt.h>

#include <cstdlib>
#include <memory>

#include "config/rules.hpp"
#include "base/error.hpp"

namespace supervisor {
namespace {

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};

// The crypt(3) prefix of an algorithm name of the template format.
std::string prefix_for(std::string_view user, std::string_view algo) {
  if (algo.empty() || algo == "sha512") return "$6$";
  if (algo == "sha256") return "$5$";
  if (algo == "yescrypt") return "$y$";
  if (algo == "bcrypt") return "$2b$";
  if (algo == "md5") {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "user '" + std::string(user) + "': hash_algo md5 is too weak; use sha512 (the default)");
  }
  throw base::Error(base::ErrorKind::kInvalidInput, "user '" + std::string(user) + "': unknown hash_algo '" +
                                                      std::string(algo) + "' (expected sha512, sha256, yescrypt or bcrypt)");
}

}  // namespace

std::string hash_password(std::string_view user, const std::optional<std::string>& password,
                          std::string_view hash_algo, std::span<const unsigned char> salt_bytes) {
  if (!password || password->empty()) return "";
  if (password->front() == '$') {
    base::require(config::rules::is_crypt_hash(*password),
                 "user '" + std::string(user) + "': the password starts with '$' but is not a crypt(3) hash");
    return *password;
  }
  const std::string prefix = prefix_for(user, hash_algo);
  base::check(salt_bytes.empty() || salt_bytes.size() == kSaltBytes,
              "a password salt needs " + std::to_string(kSaltBytes) + " bytes, not " + std::to_string(salt_bytes.size()));
  // count 0 = the library's default cost; no bytes: the salt comes from the OS.
  const char* rbytes = salt_bytes.empty() ? nullptr : reinterpret_cast<const char*>(salt_bytes.data());
  std::unique_ptr<char, FreeDeleter> setting(
      ::crypt_gensalt_ra(prefix.c_str(), 0, rbytes, static_cast<int>(salt_bytes.size())));
  base::check(setting != nullptr, "Failed to make a " + prefix + " salt for user '" + std::string(user) + "'");
  void* data = nullptr;
  int size = 0;
  const char* hashed = ::crypt_ra(password->c_str(), setting.get(), &data, &size);
  std::unique_ptr<void, FreeDeleter> holder(data);
  // On failure crypt_ra returns NULL or a string starting with '*'.
  base::check(hashed != nullptr && hashed[0] == '$', "Failed to hash the password of user '" + std::string(user) + "'");
  return hashed;
}

}  // namespace supervisor
