#include "supervisor/cache/build_env_cache.hpp"
#include "tests/support/temp_dir.hpp"

#include <stdlib.h>

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

namespace supervisor {
namespace {

namespace fs = std::filesystem;

using TempDir = ::tests::TempDir;

constexpr std::string_view kProvider = "debian-debian12-x86_64";

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Lockfile sample_lock() {
  Lockfile lock;
  lock.provider_id = "debian-debian12-x86_64";
  lock.packages = {{.name = "base-files", .version = "12.4", .architecture = "amd64", .sha256 = std::string(64, 'a')},
                   {.name = "bash", .version = "5.2.15-2", .architecture = "amd64", .sha256 = std::string(64, 'b')}};
  return lock;
}

TEST(BuildEnvKey, IsStableHexForTheSamePackageSet) {
  const std::string key = build_env_key("debian-debian12-x86_64", sample_lock(), -1);
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(key, build_env_key("debian-debian12-x86_64", sample_lock(), -1));
}

TEST(BuildEnvKey, ChangesWithEveryInput) {
  const std::string key = build_env_key("debian-debian12-x86_64", sample_lock(), -1);
  Lockfile other = sample_lock();
  other.packages[1].version = "5.2.15-3";
  EXPECT_NE(build_env_key("debian-debian12-x86_64", other, -1), key);
  other = sample_lock();
  other.packages[0].sha256 = std::string(64, 'c');
  EXPECT_NE(build_env_key("debian-debian12-x86_64", other, -1), key);
  other = sample_lock();
  other.packages[0].architecture = "all";
  EXPECT_NE(build_env_key("debian-debian12-x86_64", other, -1), key);
  other = sample_lock();
  other.packages.pop_back();
  EXPECT_NE(build_env_key("debian-debian12-x86_64", other, -1), key);
  EXPECT_NE(build_env_key("debian-debian12-aarch64", sample_lock(), -1), key);
  EXPECT_NE(build_env_key("debian-debian12-x86_64", sample_lock(), -1, kInstallerFormatVersion + 1), key);
  // The base is installed under the build's time (useradd writes it).
  EXPECT_NE(build_env_key("debian-debian12-x86_64", sample_lock(), 1765000000), key);
  EXPECT_NE(build_env_key("debian-debian12-x86_64", sample_lock(), 1765000000),
            build_env_key("debian-debian12-x86_64", sample_lock(), 1765000001));
}

TEST(BuildEnvLease, SavesOnceThenReuses) {
  TempDir cache;
  const std::string key = build_env_key("p", sample_lock(), -1);
  {
    BuildEnvLease lease = BuildEnvLease::acquire(cache.path(), kProvider, key);
    ASSERT_EQ(lease.mode(), BuildEnvMode::kSave);
    EXPECT_TRUE(fs::is_directory(lease.tree()));
    EXPECT_TRUE(fs::is_empty(lease.tree()));
    EXPECT_NE(lease.tree().parent_path().filename().string().find(".tmp-" + key), std::string::npos);
    std::ofstream(lease.tree() / "marker-file") << "x";
    lease.commit();
  }
  EXPECT_TRUE(fs::exists(cache.path() / "buildenv" / key / "complete"));
  BuildEnvLease again = BuildEnvLease::acquire(cache.path(), kProvider, key);
  EXPECT_EQ(again.mode(), BuildEnvMode::kReuse);
  EXPECT_EQ(again.tree(), cache.path() / "buildenv" / key / "tree");
  EXPECT_TRUE(fs::exists(again.tree() / "marker-file"));
}

TEST(BuildEnvLease, AnUncommittedSaveLeavesNothing) {
  TempDir cache;
  const std::string key = build_env_key("p", sample_lock(), -1);
  fs::path temp;
  {
    BuildEnvLease lease = BuildEnvLease::acquire(cache.path(), kProvider, key);
    ASSERT_EQ(lease.mode(), BuildEnvMode::kSave);
    temp = lease.tree().parent_path();
    std::ofstream(lease.tree() / "half") << "x";
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_FALSE(fs::exists(cache.path() / "buildenv" / key));
  EXPECT_EQ(BuildEnvLease::acquire(cache.path(), kProvider, key).mode(), BuildEnvMode::kSave);
}

TEST(BuildEnvLease, ASecondBuildDoesNotSaveTheSameKeyAtOnce) {
  TempDir cache;
  const std::string key = build_env_key("p", sample_lock(), -1);
  BuildEnvLease first = BuildEnvLease::acquire(cache.path(), kProvider, key);
  ASSERT_EQ(first.mode(), BuildEnvMode::kSave);
  BuildEnvLease second = BuildEnvLease::acquire(cache.path(), kProvider, key);
  EXPECT_EQ(second.mode(), BuildEnvMode::kNone);
  EXPECT_TRUE(second.tree().empty());
}

TEST(BuildEnvLease, ADirectoryWithoutMarkerIsNotReusedAndLeftoversGo) {
  TempDir cache;
  const std::string key = build_env_key("p", sample_lock(), -1);
  const fs::path root = cache.path() / "buildenv";
  fs::create_directories(root / key / "tree");  // renamed, marker never written
  fs::create_directories(root / (".tmp-" + key + "-999999") / "tree");
  BuildEnvLease lease = BuildEnvLease::acquire(cache.path(), kProvider, key);
  EXPECT_EQ(lease.mode(), BuildEnvMode::kSave);
  EXPECT_FALSE(fs::exists(root / key));
  EXPECT_FALSE(fs::exists(root / (".tmp-" + key + "-999999")));
  lease.commit();
  EXPECT_TRUE(fs::exists(root / key / "complete"));
}

TEST(BuildEnvLease, KeepsTheCacheAndTheSavedEnvironmentsPrivate) {
  TempDir cache;
  fs::create_directories(cache.path() / "buildenv");
  fs::permissions(cache.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                    fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(cache.path() / "buildenv", fs::perms::owner_all | fs::perms::others_exec);
  BuildEnvLease lease = BuildEnvLease::acquire(cache.path(), kProvider, build_env_key("p", sample_lock(), -1));
  EXPECT_EQ(fs::status(cache.path()).permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(cache.path() / "buildenv").permissions(), fs::perms::owner_all);
  EXPECT_EQ(lease.warnings().size(), 2u);
  TempDir fresh;
  BuildEnvLease first = BuildEnvLease::acquire(fresh.path() / "cache", kProvider, build_env_key("p", sample_lock(), -1));
  EXPECT_EQ(fs::status(fresh.path() / "cache/buildenv").permissions(), fs::perms::owner_all);
  EXPECT_TRUE(first.warnings().empty());
}

TEST(CleanBuildEnvs, RemovesTheWholeDirectoryOrListsItOnDryRun) {
  TempDir cache;
  EXPECT_TRUE(clean_build_envs(cache.path(), std::nullopt, false).empty());
  fs::create_directories(cache.path() / "buildenv" / "k" / "tree");
  EXPECT_EQ(clean_build_envs(cache.path(), std::nullopt, true), std::vector<fs::path>{cache.path() / "buildenv"});
  EXPECT_TRUE(fs::exists(cache.path() / "buildenv"));
  EXPECT_EQ(clean_build_envs(cache.path(), std::nullopt, false), std::vector<fs::path>{cache.path() / "buildenv"});
  EXPECT_FALSE(fs::exists(cache.path() / "buildenv"));
}

// Saves one environment of `provider` (a distinct package set per call).
fs::path save_env(const fs::path& cache_dir, std::string_view provider, char sha) {
  Lockfile lock = sample_lock();
  lock.packages[0].sha256 = std::string(64, sha);
  BuildEnvLease lease = BuildEnvLease::acquire(cache_dir, provider, build_env_key(provider, lock, -1));
  std::ofstream(lease.tree() / "f") << "x";
  lease.commit();
  return cache_dir / "buildenv" / lease.key();
}

TEST(CleanBuildEnvs, NarrowsToTheSavesOfOneProvider) {
  TempDir cache;
  const fs::path mine = save_env(cache.path(), kProvider, 'c');
  const fs::path theirs = save_env(cache.path(), "debian-debian12-aarch64", 'd');
  EXPECT_EQ(read_text(mine / "provider"), std::string(kProvider) + "\n");
  const std::vector<fs::path> expected{mine, fs::path(mine.string() + ".lock")};
  EXPECT_EQ(clean_build_envs(cache.path(), std::string(kProvider), true), expected);
  EXPECT_TRUE(fs::exists(mine / "tree/f"));
  EXPECT_EQ(clean_build_envs(cache.path(), std::string(kProvider), false), expected);
  EXPECT_FALSE(fs::exists(mine));
  EXPECT_FALSE(fs::exists(mine.string() + ".lock"));
  EXPECT_TRUE(fs::exists(theirs / "tree/f"));
  EXPECT_TRUE(clean_build_envs(cache.path(), std::string(kProvider), false).empty());
}

}  // namespace
}  // namespace supervisor
