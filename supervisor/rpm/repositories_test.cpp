#include "supervisor/rpm/repositories.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "base/error.hpp"
#include "build_info.hpp"

namespace supervisor::rpm {
namespace {

using Strings = std::vector<std::string>;

config::ProviderData azl3() {
  return config::load_provider(std::filesystem::path(OIC_SOURCE_ROOT) / "config", "azure-linux", "azl3", "x86_64");
}

config::PackageRepository mirror(std::string codename, std::string pkey) {
  config::PackageRepository repo;
  repo.codename = std::move(codename);
  repo.url = "http://127.0.0.1:8080/azl/";
  repo.pkey = std::move(pkey);
  return repo;
}

TEST(RpmRepositories, TheProvidersKeysAndChecksCarryOver) {
  const auto repos = repositories_of(azl3(), {});
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0].name, "azurelinux-3.0-base");
  EXPECT_EQ(repos[0].architectures, (Strings{"x86_64", "noarch"}));
  ASSERT_EQ(repos[0].keys.size(), 2u);
  EXPECT_TRUE(repos[0].keys[0].location.ends_with("/keys/MICROSOFT-RPM-GPG-KEY"));
  EXPECT_EQ(repos[0].keys[0].fingerprints.size(), 2u);
  EXPECT_TRUE(repos[0].gpg_check);
  EXPECT_TRUE(repos[0].repo_gpg_check);
}

// A user's mirror of the provider's repository: same codename as the
// provider repository's name, its own key, the provider's checks.
TEST(RpmRepositories, ATemplateRepositoryNamedLikeTheProvidersReplacesIt) {
  config::ImageTemplate image;
  auto repo = mirror("azurelinux-3.0-base", "RPM-GPG-KEY");
  repo.priority = 700;
  repo.allow_packages = {"kernel*"};
  repo.key_fingerprints = {"0123456789ABCDEF0123456789ABCDEF01234567"};
  image.package_repositories = {repo};
  const auto repos = repositories_of(azl3(), image);
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0].name, "template-0-azurelinux-3.0-base");
  EXPECT_EQ(repos[0].base_url, "http://127.0.0.1:8080/azl");
  ASSERT_EQ(repos[0].keys.size(), 1u);
  EXPECT_EQ(repos[0].keys[0].location, "http://127.0.0.1:8080/azl/RPM-GPG-KEY");
  EXPECT_EQ(repos[0].keys[0].fingerprints, repo.key_fingerprints);
  EXPECT_EQ(repos[0].priority, 700);
  EXPECT_EQ(repos[0].allow_packages, (Strings{"kernel*"}));
  EXPECT_TRUE(repos[0].repo_gpg_check);
}

TEST(RpmRepositories, OtherTemplateRepositoriesAreAddedAndTrustedOnesCheckNothing) {
  config::ImageTemplate image;
  image.package_repositories = {mirror("extras", "/etc/pki/extras.asc"), mirror("local", "[trusted=yes]")};
  const auto repos = repositories_of(azl3(), image);
  ASSERT_EQ(repos.size(), 3u);
  EXPECT_EQ(repos[1].keys.at(0).location, "/etc/pki/extras.asc");
  EXPECT_FALSE(repos[1].trusted());
  EXPECT_TRUE(repos[2].trusted());
  EXPECT_TRUE(repos[2].keys.empty());
}

TEST(RpmRepositories, RefusesATemplateRepositoryWithoutKeyOrUrl) {
  config::ImageTemplate image;
  auto keyless = mirror("extras", "");
  keyless.pkey.reset();
  image.package_repositories = {keyless};
  try {
    repositories_of(azl3(), image);
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("packageRepositories[0] (extras): no pkey given"), std::string::npos) << e.what();
  }
  auto local = mirror("extras", "k.asc");
  local.url.reset();
  local.path = "/srv/repo";
  image.package_repositories = {local};
  EXPECT_THROW(repositories_of(azl3(), image), base::Error);
}

}  // namespace
}  // namespace supervisor::rpm
