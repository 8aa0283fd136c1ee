// What the package downloads tell the fetcher about their anchor: a
// repository marked trusted signed nothing, so its packages' plain http
// downloads are not said to be checked against a signature.
#include "supervisor/build/package_fetch.hpp"

#include <gtest/gtest.h>

namespace supervisor {
namespace {

Lockfile lock_of(std::vector<LockedRepository> repos) {
  Lockfile lock;
  lock.repositories = std::move(repos);
  return lock;
}

// Debian: a verified repository records its signer; a trusted one none.
TEST(PackageFetch, ATrustedRepositoryIsUnsigned) {
  const auto lock = lock_of({{.name = "bookworm", .signer_fingerprint = "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8"},
                             {.name = "local"}});
  EXPECT_EQ(unsigned_repositories(lock, std::nullopt), std::set<std::string>{"local"});
}

// RPM: an unsigned repomd.xml records no signer, but a repository whose
// packages are checked against its keys is anchored by them.
TEST(PackageFetch, PackageKeysAnchorARepositoryWithNoSigner) {
  const auto lock = lock_of({{.name = "emt3-base"}, {.name = "local"}});
  const PackageKeys keys = {{.repo = "emt3-base", .keys = {{"/keys/EMT-KEY", ""}}}};
  EXPECT_EQ(unsigned_repositories(lock, keys), std::set<std::string>{"local"});
  EXPECT_EQ(unsigned_repositories(lock, PackageKeys{}), (std::set<std::string>{"emt3-base", "local"}));
}

}  // namespace
}  // namespace supervisor
