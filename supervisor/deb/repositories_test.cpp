#include "supervisor/deb/repositories.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.hpp"

namespace supervisor::deb {
namespace {

using Strings = std::vector<std::string>;

// A Debian provider with one repository of its own, as config/osv gives it.
config::ProviderData bookworm_provider() {
  config::ProviderData provider;
  provider.id = "debian-debian12-x86_64";
  provider.package_arch = "amd64";
  config::Repository repo;
  repo.name = "debian-bookworm";
  repo.base_url = "http://127.0.0.1:9/debian";
  repo.suite = "bookworm";
  repo.components = {"main"};
  repo.keys = {{.location = "/usr/share/keyrings/debian-archive-keyring.gpg"}};
  provider.repositories = {repo};
  return provider;
}

config::PackageRepository template_repository(std::string codename) {
  config::PackageRepository repo;
  repo.codename = std::move(codename);
  repo.url = "http://127.0.0.1:8080/extra/";
  return repo;
}

std::vector<Repository> with(const std::vector<config::PackageRepository>& repos) {
  config::ImageTemplate image;
  image.package_repositories = repos;
  return repositories_of(bookworm_provider(), image);
}

// Every field of a template repository reaches the repository the fetch,
// verify and resolve steps use.
TEST(DebRepositories, EveryFieldOfATemplateRepositoryIsCarried) {
  config::PackageRepository repo = template_repository("extra");
  repo.component = "main contrib";
  repo.pkey = "/keys/extra.gpg";
  repo.pkeys = {"https://127.0.0.1/second.asc"};
  repo.key_fingerprints = {std::string(40, 'A')};
  repo.priority = -10;
  repo.allow_packages = {"vim*", "tree"};
  const auto repos = with({repo});
  ASSERT_EQ(repos.size(), 2u);
  const Repository& extra = repos[1];
  EXPECT_EQ(extra.base_url, "http://127.0.0.1:8080/extra") << "url, without its trailing slash";
  EXPECT_EQ(extra.suite, "extra") << "codename is the suite under dists/";
  EXPECT_EQ(extra.components, (Strings{"main", "contrib"}));
  EXPECT_EQ(extra.index_paths(), (Strings{"main/binary-amd64/Packages.xz", "contrib/binary-amd64/Packages.xz"}));
  ASSERT_EQ(extra.keys.size(), 2u);
  EXPECT_EQ(extra.keys[0].location, "/keys/extra.gpg") << "pkey first, then pkeys";
  EXPECT_EQ(extra.keys[1].location, "https://127.0.0.1/second.asc");
  EXPECT_EQ(extra.keys[0].fingerprints, (Strings{std::string(40, 'A')})) << "the pin applies to every key";
  EXPECT_EQ(extra.keys[1].fingerprints, (Strings{std::string(40, 'A')}));
  EXPECT_FALSE(extra.trusted);
  EXPECT_EQ(extra.priority, -10);
  EXPECT_EQ(extra.allow_packages, (Strings{"vim*", "tree"}));
}

TEST(DebRepositories, DefaultsAreComponentMainAndPriority500AndTrustedYesChecksNothing) {
  config::PackageRepository repo = template_repository("extra");
  repo.pkey = "[trusted=yes]";
  const auto repos = with({repo});
  ASSERT_EQ(repos.size(), 2u);
  EXPECT_EQ(repos[1].components, (Strings{"main"}));
  EXPECT_EQ(repos[1].priority, 500);
  EXPECT_TRUE(repos[1].trusted);
  EXPECT_TRUE(repos[1].keys.empty());
}

TEST(DebRepositories, ATemplateRepositoryWithTheProvidersCodenameReplacesIt) {
  config::PackageRepository repo = template_repository("bookworm");
  repo.pkey = "/keys/mirror.gpg";
  const auto repos = with({repo});
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0].base_url, "http://127.0.0.1:8080/extra");
  EXPECT_EQ(repos[0].keys.at(0).location, "/keys/mirror.gpg");
}

TEST(DebRepositories, APlaceholderUrlIsSkipped) {
  config::PackageRepository repo = template_repository("extra");
  repo.url = "<URL>";
  EXPECT_EQ(with({repo}).size(), 1u);
}

TEST(DebRepositories, ALocalPathOrNoKeyIsRefusedNamingTheRepository) {
  config::PackageRepository local;
  local.codename = "local";
  local.path = "/srv/repo";
  local.pkey = "[trusted=yes]";
  try {
    with({local});
    FAIL() << "a path repository was accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("packageRepositories[0]: local 'path' repositories are not supported"),
              std::string::npos) << e.what();
  }
  try {
    with({template_repository("nokey")});
    FAIL() << "a repository without a key was accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("packageRepositories[0] (nokey): no pkey given"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace supervisor::deb
