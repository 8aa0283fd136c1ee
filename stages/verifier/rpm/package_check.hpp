// What vouches for an RPM package beyond its hash in primary: its header
// signature by one of its repository's keys (the only anchor when the
// repository publishes an unsigned repomd.xml), the signature header's
// SHA-256 of the main header, and the payload digest the signed header
// holds. The whole-file hash against primary is checksums.*'s job.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "stages/verifier/gpg_home.hpp"
#include "stages/verifier/rpm/header.hpp"
#include "stages/verifier/verifier_stage.hpp"

namespace stage::verifier::rpm {

// Checks packages on several threads at once: each check borrows a GnuPG
// home holding only the keys of the package's repository, made on first use
// and kept for the next package of that repository.
class PackageChecker {
 public:
  explicit PackageChecker(std::vector<RepositoryKeys> keys);
  ~PackageChecker();

  // Reads the .rpm open at `fd` and throws base::Error (kInvalidInput)
  // naming the package and `repo` when it is unsigned, signed by a key that
  // is not one of the repository's, or its header or payload digest does not
  // match. Returns its headers (for the archive check).
  Package check(int fd, std::string_view name, std::string_view repo) const;

 private:
  struct Keyring {
    std::unique_ptr<GpgHome> home;
    std::vector<std::string> pins;
  };
  Keyring borrow(const RepositoryKeys& keys) const;
  void give_back(const std::string& repo, Keyring keyring) const;
  const RepositoryKeys& keys_of(std::string_view name, std::string_view repo) const;

  std::vector<RepositoryKeys> keys_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::vector<Keyring>> idle_;
};

}  // namespace stage::verifier::rpm
