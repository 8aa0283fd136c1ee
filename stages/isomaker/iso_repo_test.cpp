// The ISO's /cache-repo with the host's apt-ftparchive and createrepo_c:
// a flat deb repository apt can read, its metadata fixed by the given time.
#include "stages/isomaker/iso_repo.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.hpp"
#include "stages/diskmaker/tools.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::isomaker {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(IsoRepo, PackagesIndexNamesFilesRelativeToTheRepository) {
  const std::string index = "Package: a\nFilename: /w/cache-repo/a_1_all.deb\nSize: 3\n\nPackage: b\n"
                            "Filename: /w/builds/build-x/iso-repo/b_1_all.deb\n";
  EXPECT_EQ(relative_packages_index(index),
            "Package: a\nFilename: ./a_1_all.deb\nSize: 3\n\nPackage: b\nFilename: ./b_1_all.deb\n");
}

// A minimal .deb made with dpkg-deb.
fs::path make_deb(const tests::TempDir& dir, const std::string& name) {
  const fs::path root = dir.path() / ("src-" + name);
  dir.write("src-" + name + "/DEBIAN/control", "Package: " + name +
                                                   "\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n"
                                                   "Description: test\n");
  dir.write("src-" + name + "/usr/share/doc/" + name + "/README", "x\n");
  const fs::path deb = dir.path() / "pool" / (name + "_1.0_all.deb");
  fs::create_directories(deb.parent_path());
  diskmaker::run_tool_checked({.argv = {"dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root.string(),
                                        deb.string()}, .env = {"SOURCE_DATE_EPOCH=1700000000"}},
                              "build a test package");
  return deb;
}

TEST(IsoRepo, DebRepositoryIsFlatWithPackagesAndRelease) {
  if (!diskmaker::locate_tool("apt-ftparchive") || !diskmaker::locate_tool("dpkg-deb")) {
    GTEST_SKIP() << "needs apt-ftparchive and dpkg-deb";
  }
  tests::TempDir dir;
  const fs::path repo = dir.path() / "cache-repo";
  fs::create_directories(repo);
  // As the build hands them over: links (to the package cache) in a directory of their own.
  fs::create_directories(dir.path() / "iso-repo");
  std::vector<std::string> packages;
  for (const char* name : {"alpha", "beta"}) {
    const fs::path link = dir.path() / "iso-repo" / make_deb(dir, name).filename();
    fs::create_symlink(dir.path() / "pool" / link.filename(), link);
    packages.push_back(link.string());
  }
  const auto grafts = make_repository(PackageFamily::kDeb, packages, repo.string(), 1700000000);
  ASSERT_EQ(grafts.size(), 4u);
  EXPECT_EQ(grafts[0].iso_path, "/cache-repo/alpha_1.0_all.deb");
  EXPECT_EQ(grafts[0].source, packages[0]);
  EXPECT_EQ(grafts[2].iso_path, "/cache-repo/Packages");
  EXPECT_EQ(grafts[3].iso_path, "/cache-repo/Release");
  const std::string index = dir.read("cache-repo/Packages");
  EXPECT_THAT(index, HasSubstr("Package: alpha\n"));
  EXPECT_THAT(index, HasSubstr("Filename: ./alpha_1.0_all.deb\n"));
  EXPECT_THAT(index, HasSubstr("Filename: ./beta_1.0_all.deb\n"));
  EXPECT_THAT(index, ::testing::Not(HasSubstr("Filename: /")));
  const std::string release = dir.read("cache-repo/Release");
  EXPECT_THAT(release, HasSubstr("Date: Tue, 14 Nov 2023 22:13:20 +0000\n"));
  EXPECT_THAT(release, HasSubstr(" Packages\n"));
  EXPECT_THAT(release, ::testing::Not(HasSubstr("Release\n")));
}

TEST(IsoRepo, RefusesPackagesItCannotPlaceFlat) {
  tests::TempDir dir;
  fs::create_directories(dir.path() / "repo");
  const std::string a = dir.write("a/x_1_all.deb", "x").string();
  const std::string b = dir.write("b/x_1_all.deb", "y").string();
  EXPECT_THROW(make_repository(PackageFamily::kDeb, {a, b}, (dir.path() / "repo").string(), 0), base::Error);
  const std::string rpm = dir.write("c/x-1.noarch.rpm", "z").string();
  EXPECT_THROW(make_repository(PackageFamily::kDeb, {rpm}, (dir.path() / "repo").string(), 0), base::Error);
  EXPECT_THROW(make_repository(PackageFamily::kRpm, {dir.path().string() + "/missing.rpm"},
                               (dir.path() / "repo").string(), 0),
               base::Error);
}

}  // namespace
}  // namespace stage::isomaker
