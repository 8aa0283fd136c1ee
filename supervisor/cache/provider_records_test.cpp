#include "supervisor/cache/provider_records.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

const std::string kA(64, 'a'), kB(64, 'b'), kC(64, 'c');

TEST(ProviderRecords, KeepTheUnionOfWhatEachBuildUsed) {
  ::tests::TempDir cache;
  EXPECT_TRUE(read_provider_use(cache.path(), "debian-debian12-x86_64").empty());
  record_provider_use(cache.path(), "debian-debian12-x86_64", {kB, kA});
  record_provider_use(cache.path(), "debian-debian12-x86_64", {kC, kA});
  EXPECT_EQ(read_provider_use(cache.path(), "debian-debian12-x86_64"), (std::vector<std::string>{kA, kB, kC}));
  EXPECT_TRUE(fs::is_regular_file(cache.path() / "used-by/debian-debian12-x86_64"));
}

TEST(ProviderRecords, AnObjectAnotherProviderUsedIsNotOnlyOurs) {
  ::tests::TempDir cache;
  record_provider_use(cache.path(), "debian-debian12-x86_64", {kA, kB});
  record_provider_use(cache.path(), "debian-debian12-aarch64", {kB, kC});
  EXPECT_EQ(objects_only_of(cache.path(), "debian-debian12-x86_64"), std::vector<std::string>{kA});
  EXPECT_EQ(objects_only_of(cache.path(), "debian-debian12-aarch64"), std::vector<std::string>{kC});
  EXPECT_TRUE(objects_only_of(cache.path(), "ubuntu-ubuntu24-x86_64").empty());
}

TEST(ProviderRecords, RefuseIdsThatAreNotOneDirectoryEntry) {
  ::tests::TempDir cache;
  for (const char* bad : {"", ".", "..", "../x", "a/b", ".lock"}) {
    EXPECT_FALSE(is_provider_id(bad)) << bad;
    EXPECT_THROW(record_provider_use(cache.path(), bad, {kA}), base::Error) << bad;
  }
  EXPECT_THROW(record_provider_use(cache.path(), "debian-debian12-x86_64", {"not-a-hash"}), base::Error);
  EXPECT_FALSE(fs::exists(cache.path() / "x"));
}

}  // namespace
}  // namespace supervisor
