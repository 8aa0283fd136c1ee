#include "supervisor/cache/verified_releases.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using stage::verifier::client::ListedFile;
using stage::verifier::client::VerifiedRepo;

VerifiedRepo verdict(std::int64_t valid_until = -1) {
  return VerifiedRepo{.name = "main", .signer_fingerprint = "ABCD", .date = 1700000000, .valid_until = valid_until,
                      .suite = "bookworm", .codename = "bookworm",
                      .listed_files = {{"sha256", "main/binary-amd64/Packages.xz", std::string(64, 'a'), 10,
                                        std::string(64, 'b'), 40},
                                       {"sha256", "contrib/binary-amd64/Packages.xz", std::string(64, 'c'), 5, "", 0}},
                      .acquire_by_hash = true};
}

TEST(VerifiedReleases, AVerdictIsRecalledAfterSavingWithOnlyTheKeptFiles) {
  tests::TempDir dir;
  const fs::path file = dir.path() / "verified-releases.json";
  VerifiedReleases store(file);
  store.remember("k1", verdict(), {"main/binary-amd64/Packages.xz"});
  store.save();

  const auto recalled = VerifiedReleases(file).recall("k1", 1800000000);
  ASSERT_TRUE(recalled.has_value());
  EXPECT_EQ(recalled->signer_fingerprint, "ABCD");
  EXPECT_EQ(recalled->date, 1700000000);
  EXPECT_EQ(recalled->suite, "bookworm");
  EXPECT_TRUE(recalled->acquire_by_hash);
  ASSERT_EQ(recalled->listed_files.size(), 1u);
  EXPECT_EQ(recalled->listed_files[0].relative_path, "main/binary-amd64/Packages.xz");
  EXPECT_EQ(recalled->listed_files[0].uncompressed_sha256, std::string(64, 'b'));
  EXPECT_EQ(recalled->listed_files[0].uncompressed_size, 40u);
  EXPECT_FALSE(VerifiedReleases(file).recall("k2", 1800000000).has_value());
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST(VerifiedReleases, AnExpiredReleaseIsNotRecalled) {
  tests::TempDir dir;
  VerifiedReleases store(dir.path() / "v.json");
  store.remember("k", verdict(2000), {});
  EXPECT_TRUE(store.recall("k", 2000).has_value());
  EXPECT_FALSE(store.recall("k", 2001).has_value());
}

TEST(VerifiedReleases, OnlyTheNewestRecordsAreKeptAndARememberedKeyMovesToTheFront) {
  tests::TempDir dir;
  const fs::path file = dir.path() / "v.json";
  VerifiedReleases store(file);
  for (std::size_t i = 0; i < VerifiedReleases::kMaxRecords + 3; ++i) store.remember("k" + std::to_string(i), verdict(), {});
  store.remember("k3", verdict(), {});   // k3 (the oldest kept) becomes the newest,
  store.remember("new", verdict(), {});  // so a new record drops k4, not k3
  store.save();
  const VerifiedReleases again(file);
  EXPECT_EQ(again.size(), VerifiedReleases::kMaxRecords);
  EXPECT_TRUE(again.recall("k3", 0).has_value());
  EXPECT_FALSE(again.recall("k0", 0).has_value());
  EXPECT_FALSE(again.recall("k4", 0).has_value());
  EXPECT_TRUE(again.recall("k5", 0).has_value());
}

TEST(VerifiedReleases, AFileThatDoesNotParseHoldsNoVerdict) {
  tests::TempDir dir;
  const fs::path file = dir.path() / "v.json";
  for (const char* text : {"{", "{\"format\": 1}", "{\"format\": 2, \"records\": []}",
                           "{\"format\": 1, \"records\": [{\"key\": \"k\", \"release\": {}}]}"}) {
    std::ofstream(file) << text;
    EXPECT_EQ(VerifiedReleases(file).size(), 0u) << text;
  }
}

// The records are the cache's own: a symlink in their place is not followed.
TEST(VerifiedReleases, ASymlinkInPlaceOfTheFileIsNotFollowed) {
  tests::TempDir dir;
  const fs::path elsewhere = dir.path() / "elsewhere.json", file = dir.path() / "v.json";
  VerifiedReleases store(elsewhere);
  store.remember("k", verdict(), {});
  store.save();
  ASSERT_EQ(VerifiedReleases(elsewhere).size(), 1u);
  fs::create_symlink(elsewhere, file);
  EXPECT_EQ(VerifiedReleases(file).size(), 0u);
}

}  // namespace
}  // namespace supervisor
