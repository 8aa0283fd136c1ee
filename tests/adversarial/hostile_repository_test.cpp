// A hostile or rolled-back repository, and an edited lockfile, against the
// real supervisor and stages (the hermetic signed repository of tests/repo):
// a key that differs from the one a lockfile records, a Release older than
// one an earlier build accepted, and package files named outside the
// repository are each refused before anything is used.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/repo/repo_harness.hpp"

namespace tests::repo {
namespace {

using ::testing::HasSubstr;

class HostileRepository : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_STRNE(RepoWorld::kCliPath(), "") << "OIC_CLI must name the binary";
    ASSERT_EQ(lock().exit_code, 0);
  }

  CliResult lock() { return world_.cli({"lock", world_.template_path().string(), "-o", lockfile().string()}); }
  fs::path lockfile() const { return world_.root() / "lock.json"; }
  json read_json(const fs::path& path) const { return json::parse(slurp(path)); }
  void write_json(const fs::path& path, const json& doc) const { write_file(path, doc.dump(2)); }

  RepoWorld world_;
};

// The repository is now signed by a key the keyring accepts, but the
// lockfile being replaced says another key signed it: locking again fails.
TEST_F(HostileRepository, LockingAgainUnderAnotherKeyThanTheLockfilesFails) {
  json doc = read_json(lockfile());
  ASSERT_EQ(doc["repositories"][0]["signer"], world_.repo().fingerprint());
  doc["repositories"][0]["signer"] = world_.repo().other_fingerprint();
  write_json(lockfile(), doc);

  const CliResult r = lock();
  EXPECT_EQ(r.exit_code, 2) << r.err;  // invalid input
  EXPECT_THAT(r.err, HasSubstr("is signed by key " + world_.repo().fingerprint() + ", but lockfile '" +
                               lockfile().string() + "' records key " + world_.repo().other_fingerprint()));
  EXPECT_EQ(read_json(lockfile()), doc) << "the lockfile was replaced";
}

// The first lock recorded the Release Date in the cache; a mirror serving an
// older Release than the recorded one (here: the record moved a day ahead)
// is rolling the archive back.
TEST_F(HostileRepository, AReleaseOlderThanOneAcceptedBeforeIsRefused) {
  const fs::path record = world_.cache_dir() / "repositories.json";
  json doc = read_json(record);
  const std::string identity = world_.base_url() + " " + world_.repo().codename;
  ASSERT_TRUE(doc["repositories"].contains(identity)) << doc.dump(1);
  const std::int64_t accepted = doc["repositories"][identity]["releaseDate"].get<std::int64_t>();
  EXPECT_GT(accepted, 0);
  doc["repositories"][identity]["releaseDate"] = accepted + 86400;
  write_json(record, doc);

  const CliResult r = lock();
  EXPECT_EQ(r.exit_code, 2) << r.err;  // invalid input
  EXPECT_THAT(r.err, HasSubstr("(" + identity + "): its Release is dated"));
  EXPECT_THAT(r.err, HasSubstr("an earlier build accepted: the mirror serves a rolled-back or stale archive"));
}

// A lockfile naming a package file outside the repository is refused before
// any download.
TEST_F(HostileRepository, ALockfileFilenameOutsideTheRepositoryIsRefused) {
  json doc = read_json(lockfile());
  json& package = doc["packages"][0];
  package["filename"] = "pool/../../../../etc/shadow";
  package["url"] = world_.base_url() + "/" + package["filename"].get<std::string>();
  write_json(lockfile(), doc);
  const std::size_t before = world_.requested_paths().size();

  const CliResult r = world_.cli({"build", world_.template_path().string(), "--lockfile", lockfile().string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;  // invalid input
  EXPECT_THAT(r.err, HasSubstr("packages[0].filename: Filename 'pool/../../../../etc/shadow' leaves the repository"));
  EXPECT_EQ(world_.requested_paths().size(), before) << "something was downloaded";
}

}  // namespace
}  // namespace tests::repo
