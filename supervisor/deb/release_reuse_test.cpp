#include "supervisor/deb/release_reuse.hpp"

#include <fcntl.h>

#include <fstream>

#include <gtest/gtest.h>

#include "base/unique_fd.hpp"
#include "supervisor/cache/digest.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor::deb {
namespace {

namespace fs = std::filesystem;
namespace verifier_client = stage::verifier::client;

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

class ReleaseReuse : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(metadata());
    fs::create_directories(cache_root());
    write(metadata() / "deb_InRelease", "signed release bytes\n");
    write(dir_.path() / "key.gpg", "key bytes");
  }

  fs::path metadata() const { return dir_.path() / "metadata"; }
  fs::path cache_root() const { return dir_.path() / "cache"; }

  Repository repo() const {
    return Repository{.name = "deb", .base_url = "http://127.0.0.1:1/debian", .suite = "bookworm",
                      .components = {"main"}, .architecture = "amd64",
                      .keys = {{(dir_.path() / "key.gpg").string(), {}}}};
  }

  std::string key_of(const Repository& r) const {
    base::UniqueFd fd(::open((metadata() / "deb_InRelease").c_str(), O_RDONLY | O_CLOEXEC));
    return release_verdict_key(r, fd.get(), metadata());
  }

  // A verdict listing main's index and, on a line of its own as a Release
  // does, its text `text`; remembered under the current key.
  void remember(const std::string& text) {
    verifier_client::Result result;
    result.verified_repos.push_back({.name = "deb", .signer_fingerprint = "ABCD", .date = 100, .suite = "bookworm",
                                     .listed_files = {{"sha256", "main/binary-amd64/Packages.xz", kCompressed, 7},
                                                      {"sha256", "main/binary-amd64/Packages", sha256_hex(text),
                                                       text.size()}}});
    remember_release_verdicts(result, {{"deb", key_of(repo())}}, {repo()}, cache_root());
  }

  static inline const std::string kCompressed = std::string(64, 'e');
  tests::TempDir dir_;
};

TEST_F(ReleaseReuse, TheKeyFollowsEveryInputOfTheVerdict) {
  const std::string base = key_of(repo());
  EXPECT_EQ(key_of(repo()), base);
  Repository other = repo();
  other.suite = "trixie";
  EXPECT_NE(key_of(other), base);
  other = repo();
  other.components.push_back("contrib");
  EXPECT_NE(key_of(other), base);
  other = repo();
  other.architecture = "arm64";
  EXPECT_NE(key_of(other), base);
  other = repo();
  other.keys[0].fingerprints = {"ABCD"};
  EXPECT_NE(key_of(other), base);
  other = repo();
  other.base_url = "http://127.0.0.1:2/debian";  // the same signed bytes from another mirror
  EXPECT_EQ(key_of(other), base);

  write(dir_.path() / "key.gpg", "another key");
  EXPECT_NE(key_of(repo()), base);
  write(dir_.path() / "key.gpg", "key bytes");
  write(metadata() / "deb_InRelease", "signed release bytes\n\n");
  EXPECT_NE(key_of(repo()), base);
}

TEST_F(ReleaseReuse, ARememberedVerdictIsRecalledForTheSameBytesOnly) {
  remember("Package: a\n");
  const auto recalled = recall_release_verdicts({repo()}, metadata(), cache_root(), 0);
  ASSERT_TRUE(recalled.has_value());
  ASSERT_EQ(recalled->count("deb"), 1u);
  EXPECT_EQ(recalled->at("deb").signer_fingerprint, "ABCD");
  EXPECT_EQ(recalled->at("deb").name, "deb");

  write(metadata() / "deb_InRelease", "a newer release\n");
  EXPECT_FALSE(recall_release_verdicts({repo()}, metadata(), cache_root(), 0).has_value());
}

TEST_F(ReleaseReuse, NothingIsRecalledForAMissingOrLinkedReleaseAnUnreadableKeyOrOnlyTrustedRepositories) {
  remember("Package: a\n");
  Repository trusted = repo();
  trusted.trusted = true;
  EXPECT_FALSE(recall_release_verdicts({trusted}, metadata(), cache_root(), 0).has_value());

  Repository no_key = repo();
  no_key.keys[0].location = (dir_.path() / "missing.gpg").string();
  EXPECT_FALSE(recall_release_verdicts({no_key}, metadata(), cache_root(), 0).has_value());

  fs::rename(metadata() / "deb_InRelease", dir_.path() / "InRelease");
  EXPECT_FALSE(recall_release_verdicts({repo()}, metadata(), cache_root(), 0).has_value());
  fs::create_symlink(dir_.path() / "InRelease", metadata() / "deb_InRelease");
  EXPECT_FALSE(recall_release_verdicts({repo()}, metadata(), cache_root(), 0).has_value());
}

TEST_F(ReleaseReuse, ACachedTextIsUsedOnlyWhenItsHashIsTheListedOne) {
  const std::string text = "Package: a\nVersion: 1\n";
  remember(text);
  const ReleaseVerdicts verdicts = *recall_release_verdicts({repo()}, metadata(), cache_root(), 0);
  PackageCache cache(cache_root(), CacheAccess::kBuild);
  IndexSlot slot{.repo = "deb", .relative_path = "main/binary-amd64/Packages.xz"};

  EXPECT_FALSE(use_cached_index_texts(verdicts, {&slot}, cache)) << "no text cached yet";
  fs::create_directories(cache.index_text_path(kCompressed).parent_path());
  write(cache.index_text_path(kCompressed), "Package: b\nVersion: 1\n");  // same size, other bytes
  EXPECT_FALSE(use_cached_index_texts(verdicts, {&slot}, cache));
  EXPECT_TRUE(slot.cached.empty());

  write(cache.index_text_path(kCompressed), text);
  ASSERT_TRUE(use_cached_index_texts(verdicts, {&slot}, cache));
  EXPECT_EQ(slot.cached, cache.index_text_path(kCompressed));

  const verifier_client::Result result = recalled_result(verdicts, {&slot});
  ASSERT_EQ(result.verified_indexes.size(), 1u);
  EXPECT_EQ(result.verified_indexes[0].uncompressed, verifier_client::Uncompressed::kCached);
  EXPECT_EQ(result.verified_indexes[0].sha256, kCompressed);
  EXPECT_EQ(result.verified_indexes[0].uncompressed_sha256, sha256_hex(text));
  ASSERT_EQ(result.verified_repos.size(), 1u);

  IndexSlot unlisted{.repo = "deb", .relative_path = "contrib/binary-amd64/Packages.xz"};
  EXPECT_FALSE(use_cached_index_texts(verdicts, {&slot, &unlisted}, cache));
}

}  // namespace
}  // namespace supervisor::deb
