#include "supervisor/rpm/family.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "base/error.hpp"
#include "build_info.hpp"
#include "supervisor/family.hpp"
#include "supervisor/rpm/repositories.hpp"
#include "supervisor/rpm/resolution.hpp"

namespace supervisor::rpm {
namespace {

config::ProviderData azl3() {
  return config::load_provider(std::filesystem::path(OIC_SOURCE_ROOT) / "config", "azure-linux", "azl3", "x86_64");
}

TEST(RpmFamily, IsWhatAnRpmProviderAndAnRpmLockName) {
  EXPECT_EQ(&family_for(azl3()), &family());
  EXPECT_EQ(&family_named("rpm"), &family());
  EXPECT_EQ(family().package_suffix(), ".rpm");
}

// Each pinned fingerprint of each shipped key, for the package checks.
TEST(RpmFamily, PackageKeysAreTheShippedKeysWithTheirPins) {
  const auto provider = azl3();
  const auto keys = family().package_keys(provider, {});
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(keys->at(0).repo, "azurelinux-3.0-base");
  ASSERT_EQ(keys->at(0).keys.size(), 4u);  // two keys, two pins each
  EXPECT_EQ(keys->at(0).keys[0].first, provider.os_dir / "keys/MICROSOFT-RPM-GPG-KEY");
  EXPECT_EQ(keys->at(0).keys[1].second, "BC528686B50D79E339D3721CEB3E94ADBE1229CF");
}

// The fetcher's plain http warning: emt3's repomd.xml is unsigned, so it and
// its indexes are anchored only by the packages' signatures; azl3's is signed.
TEST(RpmFamily, MetadataIsSaidToBeCheckedByWhatChecksIt) {
  using stage::fetcher::client::CheckedBy;
  const auto emt3 = config::load_provider(std::filesystem::path(OIC_SOURCE_ROOT) / "config", "edge-microvisor-toolkit",
                                          "emt3", "x86_64");
  const auto unsigned_repos = repositories_of(emt3, {});
  ASSERT_FALSE(unsigned_repos.empty());
  for (const auto& repo : unsigned_repos) EXPECT_EQ(metadata_checked_by(repo), CheckedBy::kPackageSignatures) << repo.name;
  const auto signed_repos = repositories_of(azl3(), {});
  ASSERT_FALSE(signed_repos.empty());
  for (const auto& repo : signed_repos) EXPECT_EQ(metadata_checked_by(repo), CheckedBy::kSignature) << repo.name;
  Repository trusted{.name = "local", .gpg_check = false, .repo_gpg_check = false};
  EXPECT_EQ(metadata_checked_by(trusted), CheckedBy::kNothing);
}

TEST(RpmFamily, RefusesAPackageKeyNamedByUrl) {
  config::ImageTemplate image;
  config::PackageRepository mirror;
  mirror.codename = "azurelinux-3.0-base";
  mirror.url = "http://127.0.0.1:1/azl";
  mirror.pkey = "RPM-GPG-KEY";
  image.package_repositories = {mirror};
  try {
    family().package_keys(azl3(), image);
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("signatures need its key as a local file"), std::string::npos) << e.what();
  }
}

// The rpmdb path and the deferred packages come from the provider; a key
// named by two pins is imported once.
TEST(RpmFamily, FillsTheInstallersRpmPart) {
  const auto provider = azl3();
  PreparedRequest p;
  stage::installer::client::Request request;
  request.packages.resize(2);
  request.packages[0].name = "kernel";
  request.packages[1].name = "initramfs";
  family().fill_installer_request(provider.facts, family().package_keys(provider, {}), p, request);
  ASSERT_TRUE(request.rpm.has_value());
  EXPECT_EQ(request.rpm->db_path, "/var/lib/rpm");
  EXPECT_EQ(request.rpm->keys.size(), 2u);
  EXPECT_FALSE(request.packages[0].deferred);
  EXPECT_TRUE(request.packages[1].deferred);
}

}  // namespace
}  // namespace supervisor::rpm
