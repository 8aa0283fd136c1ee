#include "supervisor/cache/cache_clean.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "base/error.hpp"
#include "supervisor/cache/build_env_cache.hpp"
#include "supervisor/cache/package_cache.hpp"
#include "supervisor/cache/provider_records.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAmd = "debian-debian12-x86_64";
constexpr const char* kArm = "debian-debian12-aarch64";
// sha256 of "amd\n", "arm\n" and "all\n".
constexpr const char* kAmdDeb = "5936eea68de28ad059fb5a98f00a8ba4f73c6271fac27d976616696236e72a5a";
constexpr const char* kArmDeb = "b94c946de56d6bd2d8c67cc675ba039d35178378e26138d44b38075d2e1ce602";
constexpr const char* kAllDeb = "722cdd399249d70c5dac1ff2b103a0b271d8fb9816fa52af6ce6b88eda1d389a";

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// Two providers that each built once: their packages (one shared), saved
// build environments, a build a kill left behind, and a finished image.
class CacheClean : public testing::Test {
 protected:
  void SetUp() override {
    {
      PackageCache cache(cache_, CacheAccess::kBuild);
      add_object(cache, "amd\n", kAmdDeb);
      add_object(cache, "arm\n", kArmDeb);
      add_object(cache, "all\n", kAllDeb);
    }
    record_provider_use(cache_, kAmd, {kAmdDeb, kAllDeb});
    record_provider_use(cache_, kArm, {kArmDeb, kAllDeb});
    amd_env_ = save_env(kAmd);
    arm_env_ = save_env(kArm);
    for (const char* p : {kAmd, kArm}) {
      write_file(work_ / p / "builds/build-a1b2c3/root/etc/os-release", "x");
      write_file(work_ / p / "imagebuild/Default_Raw/img-1.0.raw", "disk");
      write_file(work_ / p / "reproducibility-check/Default_Raw/img-1.0.raw", "second build");
    }
  }

  static void add_object(PackageCache& cache, std::string_view content, const std::string& sha256) {
    const auto staging = cache.make_staging_area();
    write_file(staging.dir() / "x.deb", content);
    cache.commit(cache.lock_object(sha256), staging.dir() / "x.deb", "x.deb");
  }

  fs::path save_env(const std::string& provider) {
    BuildEnvLease lease = BuildEnvLease::acquire(cache_, provider, std::string(64, provider == kAmd ? '1' : '2'));
    write_file(lease.tree() / "bin/sh", "x");
    lease.commit();
    return cache_ / "buildenv" / lease.key();
  }

  CacheCleanResult clean(CacheCleanRequest r) {
    r.cache_dir = cache_;
    r.work_dir = work_;
    return clean_cache(r);
  }

  fs::path object(const char* sha256) const {
    return cache_ / "packages/sha256" / std::string(sha256).substr(0, 2) / sha256;
  }

  ::tests::TempDir root_;
  fs::path cache_ = root_.path() / "cache";
  fs::path work_ = root_.path() / "work";
  fs::path amd_env_, arm_env_;
};

TEST_F(CacheClean, WorkspaceKeepsFinishedImages) {
  const CacheCleanResult r = clean({.workspace = true});
  for (const char* p : {kAmd, kArm}) {
    EXPECT_TRUE(fs::is_regular_file(work_ / p / "imagebuild/Default_Raw/img-1.0.raw")) << p;
    EXPECT_TRUE(fs::is_regular_file(work_ / p / "reproducibility-check/Default_Raw/img-1.0.raw")) << p;
    EXPECT_FALSE(fs::exists(work_ / p / "builds")) << p;
  }
  EXPECT_FALSE(fs::exists(cache_ / "buildenv"));
  EXPECT_TRUE(fs::exists(object(kAmdDeb)));
  for (const fs::path& p : r.removed) EXPECT_EQ(p.string().find("imagebuild"), std::string::npos) << p;
}

TEST_F(CacheClean, OutputsGoOnlyWhenAskedForByName) {
  const CacheCleanResult r = clean({.outputs = true, .provider_id = kAmd});
  EXPECT_EQ(r.removed, (std::vector<fs::path>{work_ / kAmd / "imagebuild", work_ / kAmd / "reproducibility-check"}));
  EXPECT_FALSE(fs::exists(work_ / kAmd / "imagebuild"));
  EXPECT_FALSE(fs::exists(work_ / kAmd / "reproducibility-check"));
  EXPECT_TRUE(fs::exists(work_ / kArm / "imagebuild/Default_Raw/img-1.0.raw"));
  EXPECT_TRUE(fs::exists(work_ / kArm / "reproducibility-check/Default_Raw/img-1.0.raw"));
  EXPECT_TRUE(fs::exists(work_ / kAmd / "builds/build-a1b2c3"));
}

TEST_F(CacheClean, ProviderIdAloneTakesOnlyThatProvidersPackagesAndEnvironment) {
  clean({.packages = true, .provider_id = kAmd});
  EXPECT_FALSE(fs::exists(object(kAmdDeb)));
  EXPECT_FALSE(fs::exists(object(kAmdDeb).string() + ".name"));
  EXPECT_FALSE(fs::exists(cache_ / "used-by" / kAmd));
  EXPECT_FALSE(fs::exists(amd_env_));
  // The other provider's, and what both used, stay.
  EXPECT_TRUE(fs::exists(object(kArmDeb)));
  EXPECT_TRUE(fs::exists(object(kAllDeb)));
  EXPECT_TRUE(fs::exists(arm_env_ / "tree/bin/sh"));
  EXPECT_TRUE(fs::exists(cache_ / "used-by" / kArm));
  EXPECT_TRUE(fs::exists(work_ / kAmd / "imagebuild/Default_Raw/img-1.0.raw"));
  // Once no other record holds it, the shared object is the last provider's.
  clean({.packages = true, .provider_id = kArm});
  EXPECT_FALSE(fs::exists(object(kAllDeb)));
}

// Every file under `dir`, sorted.
std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

bool under_one_of(const fs::path& path, const std::vector<fs::path>& roots) {
  return std::any_of(roots.begin(), roots.end(), [&](const fs::path& root) {
    return path == root || path.string().starts_with(root.string() + "/");
  });
}

TEST_F(CacheClean, DryRunListsExactlyWhatTheRunThenRemoves) {
  for (const CacheCleanRequest& scope :
       {CacheCleanRequest{.packages = true, .provider_id = kAmd}, CacheCleanRequest{.workspace = true},
        CacheCleanRequest{.packages = true, .workspace = true, .outputs = true}}) {
    const std::vector<fs::path> before = files_under(root_.path());
    CacheCleanRequest dry = scope;
    dry.dry_run = true;
    const CacheCleanResult listed = clean(dry);
    EXPECT_EQ(files_under(root_.path()), before) << "the dry run removed something";
    const CacheCleanResult done = clean(scope);
    EXPECT_EQ(done.removed, listed.removed);
    for (const fs::path& p : before) EXPECT_EQ(fs::exists(fs::symlink_status(p)), !under_one_of(p, listed.removed)) << p;
  }
}

TEST_F(CacheClean, ASymlinkedTreeIsNotEntered) {
  write_file(root_.path() / "outside/keep", "keep");
  fs::remove_all(work_ / kAmd / "builds");
  fs::create_directory_symlink(root_.path() / "outside", work_ / kAmd / "builds");
  fs::create_directory_symlink(root_.path() / "outside", work_ / "evil");
  const CacheCleanResult r = clean({.workspace = true, .outputs = true});
  EXPECT_TRUE(fs::exists(root_.path() / "outside/keep"));
  EXPECT_TRUE(fs::is_symlink(work_ / kAmd / "builds"));
  for (const fs::path& p : r.removed) EXPECT_FALSE(under_one_of(p, {work_ / "evil", work_ / kAmd / "builds"})) << p;
}

TEST_F(CacheClean, RefusesAnInvalidProviderId) {
  EXPECT_THROW(clean({.workspace = true, .provider_id = "../x"}), base::Error);
}

}  // namespace
}  // namespace supervisor
