// `lock`, `fetch` and `build` against a generated signed repository on
// 127.0.0.1: the exact resolution, lockfile determinism, builds from a
// lockfile, the dependency graph, concurrent builds sharing a cache, the
// archive check and its per-object markers, and `cache clean`.
#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>
#include <future>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/repo/repo_harness.hpp"

namespace tests::repo {
namespace {

using ::testing::HasSubstr;

struct Expected {
  std::string name, version, architecture, source;
  bool essential = false;
};

// The resolution of kRequested + base-tiny. editor-b 2.1 (not 3.0, not
// editor-a) and new-lib (not old-lib) prove that Conflicts, Breaks and
// versioned alternatives steer the choice; oldfoo (a build-env tool) and
// the uninstallable alternatives stay out.
const std::vector<Expected> kExpected = {
    {"app", "3.1-2", "amd64", "system"},       {"bar", "2.0", "amd64", "dependency"},
    {"base-tiny", "1.0", "amd64", "essential", true},
    {"baz", "0.5", "amd64", "system"},         {"editor-b", "2.1", "all", "dependency"},
    {"foo", "1.0-1", "amd64", "system"},       {"foo-common", "1.0-1", "all", "dependency"},
    {"libfoo1", "1.0-1", "amd64", "dependency"}, {"new-lib", "1.5", "amd64", "dependency"},
    {"tool", "1.0", "amd64", "system"},
};

std::string deb_name(const Expected& e) { return e.name + "_" + e.version + "_" + e.architecture + ".deb"; }

class RepoLock : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_STRNE(RepoWorld::kCliPath(), "") << "OIC_CLI must name the binary"; }
};


// The Date field of a Release file, in seconds since 1970.
std::int64_t release_date(const fs::path& release) {
  std::istringstream in(slurp(release));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Date: ", 0) != 0) continue;
    std::tm tm{};
    std::istringstream field(line.substr(6));
    field >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
    if (field.fail()) break;
    return static_cast<std::int64_t>(::timegm(&tm));
  }
  ADD_FAILURE() << "no Date in " << release;
  return -1;
}

TEST_F(RepoLock, ResolvesExactlyTheExpectedPackagesWithTheirPins) {
  RepoWorld world;
  const auto started = std::chrono::steady_clock::now();
  const CliResult r = world.cli({"lock", world.template_path().string(), "-o", (world.root() / "lock.json").string()});
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RecordProperty("lock_seconds", std::to_string(elapsed));
  std::printf("hermetic lock took %.3f s\n", elapsed);

  const json lock = json::parse(slurp(world.root() / "lock.json"));
  EXPECT_EQ(lock["format"], 2);
  EXPECT_EQ(lock["family"], "deb");
  EXPECT_EQ(lock["provider"], "debian-debian12-x86_64");
  ASSERT_EQ(lock["repositories"].size(), 1u);
  const json& repo = lock["repositories"][0];
  EXPECT_EQ(repo["url"], world.base_url());
  EXPECT_EQ(repo["deb"]["suite"], "oicbook");
  EXPECT_EQ(repo["deb"]["components"], json::array({"main"}));
  EXPECT_EQ(repo["signer"], world.repo().fingerprint());
  // The Release's Date, the build's default time (docs/reproducible-builds.md).
  EXPECT_EQ(repo["date"], release_date(world.repo().dist_dir() / "Release"));

  ASSERT_EQ(lock["packages"].size(), kExpected.size()) << lock["packages"].dump(1);
  for (std::size_t i = 0; i < kExpected.size(); ++i) {
    const Expected& e = kExpected[i];
    const json& p = lock["packages"][i];
    SCOPED_TRACE(e.name);
    const fs::path deb = world.repo().deb(deb_name(e));
    EXPECT_EQ(p["name"], e.name);
    EXPECT_EQ(p["version"], e.version);
    EXPECT_EQ(p["architecture"], e.architecture);
    EXPECT_EQ(p["repository"], repo["name"]);
    EXPECT_EQ(p["filename"], "pool/main/" + deb_name(e));
    EXPECT_EQ(p["url"], world.base_url() + "/pool/main/" + deb_name(e));
    EXPECT_EQ(p["sha256"], sha256_hex(deb));
    EXPECT_EQ(p["size"], fs::file_size(deb));
    EXPECT_EQ(p["source"], e.source);
    EXPECT_EQ(p["deb"]["essential"], e.essential);
  }
  // Pre-Depends come first: base-tiny before everything that pre-depends on it.
  const auto order = lock["installOrder"].get<std::vector<std::string>>();
  ASSERT_EQ(order.size(), kExpected.size());
  auto at = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
  EXPECT_LT(at("base-tiny"), at("foo"));
  EXPECT_LT(at("base-tiny"), at("libfoo1"));
}

TEST_F(RepoLock, TwoLocksAreByteIdentical) {
  RepoWorld world;
  const fs::path a = world.root() / "a.json", b = world.root() / "b.json";
  ASSERT_EQ(world.cli({"lock", world.template_path().string(), "-o", a.string()}).exit_code, 0);
  ASSERT_EQ(world.cli({"lock", world.template_path().string(), "-o", b.string()}).exit_code, 0);
  const CliResult to_stdout = world.cli({"lock", world.template_path().string()});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(slurp(a), slurp(b));
  EXPECT_EQ(slurp(a), to_stdout.out);
}

// The verifier's decompressed index is kept in the cache's metadata/ under
// the hash of the compressed file; a second lock checks and reuses it, and
// a corrupted copy is named, not used, and replaced.
TEST_F(RepoLock, ASecondLockReusesTheDecompressedIndexAndReplacesACorruptCopy) {
  RepoWorld world;
  const fs::path indexes = world.cache_dir() / "metadata/indexes";
  auto lock = [&](const std::string& name) {
    const CliResult r = world.cli({"lock", world.template_path().string(), "-o", (world.root() / name).string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.err;
  };
  EXPECT_THAT(lock("a.json"), HasSubstr("Package indexes: 0 from the metadata cache, 1 decompressed"));
  std::vector<fs::path> kept;
  for (const auto& entry : fs::directory_iterator(indexes)) kept.push_back(entry.path());
  ASSERT_EQ(kept.size(), 1u);
  const std::string text = slurp(kept[0]);
  EXPECT_THAT(text, HasSubstr("Package: base-tiny\n"));
  EXPECT_EQ(fs::status(kept[0]).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);

  EXPECT_THAT(lock("b.json"), HasSubstr("Package indexes: 1 from the metadata cache, 0 decompressed"));

  fs::permissions(kept[0], fs::perms::owner_write, fs::perm_options::add);
  std::string corrupt = text;
  corrupt[corrupt.find("base-tiny")] = 'B';
  write_file(kept[0], corrupt);
  const std::string err = lock("c.json");
  EXPECT_THAT(err, HasSubstr("Replacing cached index '" + kept[0].string() + "': the cached uncompressed copy of "
                             "index 'main/binary-amd64/Packages"));
  EXPECT_THAT(err, HasSubstr("is corrupt: expected SHA256"));
  EXPECT_THAT(err, HasSubstr("Package indexes: 0 from the metadata cache, 1 decompressed"));
  EXPECT_EQ(slurp(kept[0]), text);
  EXPECT_EQ(slurp(world.root() / "a.json"), slurp(world.root() / "b.json"));
  EXPECT_EQ(slurp(world.root() / "a.json"), slurp(world.root() / "c.json"));
  EXPECT_THAT(lock("d.json"), HasSubstr("Package indexes: 1 from the metadata cache, 0 decompressed"));
}

// A lock of an InRelease the verifier accepted before, with the same key,
// runs no verifier and downloads no index: the verdict and the index text
// come from the cache (the text hashed again). Changed bytes go back to the
// verifier, which refuses a forged InRelease.
TEST_F(RepoLock, ALockOfMetadataVerifiedBeforeRunsNoVerifierAndAChangedReleaseIsVerifiedAgain) {
  RepoWorld world;
  auto lock = [&](const std::string& name) {
    return world.cli({"lock", world.template_path().string(), "-o", (world.root() / name).string()});
  };
  const CliResult first = lock("a.json");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.err, ::testing::Not(HasSubstr("no stage run")));
  EXPECT_TRUE(fs::is_regular_file(world.cache_dir() / "verified-releases.json"));

  const std::size_t before = world.requested_paths().size();
  const CliResult second = lock("b.json");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  for (const std::string job : {"verify-releases", "fetch-indexes", "verify-metadata"}) {
    EXPECT_THAT(second.err, HasSubstr("[" + job + "] info: no stage run: ")) << job;
  }
  EXPECT_THAT(second.err, HasSubstr("Package indexes: 1 from the metadata cache, 0 decompressed"));
  const std::vector<std::string> paths = world.requested_paths();
  ASSERT_EQ(paths.size(), before + 1) << "only the InRelease is fetched";
  EXPECT_THAT(paths.back(), HasSubstr("/InRelease"));
  EXPECT_EQ(slurp(world.root() / "a.json"), slurp(world.root() / "b.json"));

  // One byte of the signed text changed: the signature no longer matches.
  const fs::path in_release = world.repo().dist_dir() / "InRelease";
  std::string forged = slurp(in_release);
  const auto suite = forged.find("Suite: ");
  ASSERT_NE(suite, std::string::npos);
  forged[suite + 7] = 'X';
  write_file(in_release, forged);
  const CliResult third = lock("c.json");
  EXPECT_EQ(third.exit_code, 2) << third.err;
  EXPECT_THAT(third.err, ::testing::Not(HasSubstr("no stage run")));
  EXPECT_THAT(third.err, HasSubstr("signature"));
  EXPECT_FALSE(fs::exists(world.root() / "c.json"));
}

TEST_F(RepoLock, BuildFromLockfileDownloadsNoIndexAndFillsTheCache) {
  RepoWorld world;
  const fs::path lockfile = world.root() / "lock.json";
  ASSERT_EQ(world.cli({"lock", world.template_path().string(), "-o", lockfile.string()}).exit_code, 0);
  const std::size_t before = world.requested_paths().size();

  const CliResult r = world.cli({"build", world.template_path().string(), "--lockfile", lockfile.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(kInstallerMissing));
  const std::vector<std::string> paths = world.requested_paths();
  ASSERT_GE(paths.size(), before);
  std::vector<std::string> during(paths.begin() + static_cast<long>(before), paths.end());
  for (const auto& p : during) EXPECT_THAT(p, ::testing::Not(HasSubstr("/dists/"))) << "index downloaded";
  EXPECT_EQ(during.size(), kExpected.size());
  for (const auto& e : kExpected) {
    const std::string sha = sha256_hex(world.repo().deb(deb_name(e)));
    EXPECT_TRUE(fs::is_regular_file(world.object_path(sha))) << e.name;
  }
  EXPECT_THAT(world.leftovers(), ::testing::IsEmpty());
}

TEST_F(RepoLock, DotFileNamesEveryResolvedPackage) {
  RepoWorld world;
  const fs::path dot = world.root() / "deps.dot";
  const CliResult r = world.cli({"build", world.template_path().string(), "-f", dot.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(kInstallerMissing));
  const std::string graph = slurp(dot);
  EXPECT_TRUE(graph.starts_with("digraph ")) << graph;
  for (const auto& e : kExpected) EXPECT_THAT(graph, HasSubstr("\"" + e.name + ":" + e.architecture + "\"")) << e.name;
  EXPECT_THAT(graph, ::testing::Not(HasSubstr("oldfoo")));
  EXPECT_THAT(graph, ::testing::Not(HasSubstr("editor-a")));
}

TEST_F(RepoLock, ConcurrentBuildsSharingACacheDownloadEachPackageOnce) {
  RepoWorld world;
  const fs::path lockfile = world.root() / "lock.json";
  ASSERT_EQ(world.cli({"lock", world.template_path().string(), "-o", lockfile.string()}).exit_code, 0);
  const std::vector<std::string> args = {std::string(RepoWorld::kCliPath()), "--config",
                                         world.config_path().string(),       "build",
                                         world.template_path().string(),     "--lockfile",
                                         lockfile.string()};
  auto first = std::async(std::launch::async, [&] { return run_process(args, world.root() / "one"); });
  auto second = std::async(std::launch::async, [&] { return run_process(args, world.root() / "two"); });
  for (const CliResult& r : {first.get(), second.get()}) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(kInstallerMissing));
  }
  std::map<std::string, int> downloads;
  for (const auto& p : world.requested_paths()) {
    if (p.starts_with("/pool/")) ++downloads[p];
  }
  EXPECT_EQ(downloads.size(), kExpected.size());
  for (const auto& [path, count] : downloads) EXPECT_EQ(count, 1) << path;
  std::vector<std::string> expected_objects;
  for (const auto& e : kExpected) {
    const std::string sha = sha256_hex(world.repo().deb(deb_name(e)));
    expected_objects.push_back(sha);
    EXPECT_EQ(sha256_hex(world.object_path(sha)), sha) << e.name;
  }
  std::sort(expected_objects.begin(), expected_objects.end());
  EXPECT_EQ(world.objects(), expected_objects);
  EXPECT_THAT(world.leftovers(), ::testing::IsEmpty());
}

TEST_F(RepoLock, CacheCleanPackagesRemovesTheObjects) {
  RepoWorld world;
  const CliResult build = world.cli({"build", world.template_path().string()});
  ASSERT_EQ(build.exit_code, 1) << build.err;
  ASSERT_EQ(world.objects().size(), kExpected.size());
  const CliResult clean = world.cli({"cache", "clean", "--packages"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_THAT(clean.out, HasSubstr("Removed paths:"));
  EXPECT_THAT(world.objects(), ::testing::IsEmpty());
  // A later build downloads them again.
  const std::size_t before = world.requested_paths().size();
  ASSERT_EQ(world.cli({"build", world.template_path().string()}).exit_code, 1);
  EXPECT_EQ(world.objects().size(), kExpected.size());
  EXPECT_GT(world.requested_paths().size(), before + kExpected.size() - 1);
}

// The archive-check marker beside each object of the lock, or "" if none.
std::vector<std::string> markers(const RepoWorld& world) {
  std::vector<std::string> found;
  for (const auto& e : kExpected) {
    const fs::path marker = world.object_path(sha256_hex(world.repo().deb(deb_name(e)))).string() + ".checked";
    found.push_back(fs::exists(marker) ? slurp(marker) : "");
  }
  return found;
}

std::size_t pool_downloads(RepoWorld& world) {
  std::size_t count = 0;
  for (const auto& p : world.requested_paths()) count += p.starts_with("/pool/") ? 1 : 0;
  return count;
}

TEST_F(RepoLock, FetchFillsTheCacheWithHashedPackagesAndChecksNoArchive) {
  RepoWorld world;
  const fs::path lockfile = world.root() / "lock.json";
  ASSERT_EQ(world.cli({"lock", world.template_path().string(), "-o", lockfile.string()}).exit_code, 0);
  const CliResult r = world.cli({"fetch", world.template_path().string(), "--lockfile", lockfile.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("packages verified in the cache"));
  EXPECT_THAT(r.out, HasSubstr("fetch-packages-1"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("check-archives")));
  for (const auto& e : kExpected) {
    const std::string sha = sha256_hex(world.repo().deb(deb_name(e)));
    EXPECT_EQ(sha256_hex(world.object_path(sha)), sha) << e.name;
  }
  EXPECT_EQ(markers(world), std::vector<std::string>(kExpected.size(), ""));
  EXPECT_THAT(world.leftovers(), ::testing::IsEmpty());
}

// A build whose packages are all cached but unchecked checks them (and
// downloads nothing); the next build finds every marker and checks none.
TEST_F(RepoLock, BuildChecksUncheckedCachedPackagesOnceBeforeInstalling) {
  RepoWorld world;
  const fs::path lockfile = world.root() / "lock.json";
  ASSERT_EQ(world.cli({"lock", world.template_path().string(), "-o", lockfile.string()}).exit_code, 0);
  ASSERT_EQ(world.cli({"fetch", world.template_path().string(), "--lockfile", lockfile.string()}).exit_code, 0);
  const std::size_t fetched = pool_downloads(world);
  const std::string n = std::to_string(world.objects().size());

  const CliResult first = world.cli({"build", world.template_path().string(), "--lockfile", lockfile.string()});
  EXPECT_EQ(first.exit_code, 1) << first.err;
  EXPECT_THAT(first.err, HasSubstr("Archive contents of " + n + " packages checked (" + n + " now, 0 by earlier"));
  EXPECT_THAT(first.err, HasSubstr(kInstallerMissing));
  EXPECT_THAT(first.out, HasSubstr("check-archives"));
  EXPECT_LT(first.err.find("Archive contents of"), first.err.find(kInstallerMissing));
  EXPECT_EQ(pool_downloads(world), fetched);
  EXPECT_EQ(markers(world), std::vector<std::string>(kExpected.size(), "archive-check 1\n"));

  const CliResult second = world.cli({"build", world.template_path().string(), "--lockfile", lockfile.string()});
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_THAT(second.err, HasSubstr("Archive contents of " + n + " packages checked (0 now, " + n + " by earlier"));
  EXPECT_THAT(second.out, ::testing::Not(HasSubstr("check-archives")));

  // A marker of other rules does not count: that package alone is checked again.
  const fs::path one = world.object_path(sha256_hex(world.repo().deb(deb_name(kExpected[0])))).string() + ".checked";
  write_file(one, "archive-check 0\n");
  const CliResult third = world.cli({"build", world.template_path().string(), "--lockfile", lockfile.string()});
  EXPECT_THAT(third.err, HasSubstr("checked (1 now, " + std::to_string(world.objects().size() - 1) + " by earlier"));
  EXPECT_EQ(slurp(one), "archive-check 1\n");
}

TEST_F(RepoLock, FetchCheckArchivesMarksEveryObject) {
  RepoWorld world;
  const CliResult r = world.cli({"fetch", world.template_path().string(), "--check-archives"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("check-archives"));
  EXPECT_EQ(markers(world), std::vector<std::string>(kExpected.size(), "archive-check 1\n"));
}

TEST_F(RepoLock, CacheCleanPackagesRemovesTheMarkersWithTheObjects) {
  RepoWorld world;
  ASSERT_EQ(world.cli({"fetch", world.template_path().string(), "--check-archives"}).exit_code, 0);
  ASSERT_EQ(world.cli({"cache", "clean", "--packages"}).exit_code, 0);
  EXPECT_EQ(markers(world), std::vector<std::string>(kExpected.size(), ""));
}

// A fetch records what the provider used, so a clean of that provider alone
// (no --packages, no --workspace) finds its objects in the shared store.
TEST_F(RepoLock, CacheCleanProviderIdAloneRemovesThatProvidersObjects) {
  RepoWorld world;
  ASSERT_EQ(world.cli({"fetch", world.template_path().string()}).exit_code, 0);
  ASSERT_EQ(world.objects().size(), kExpected.size());
  const CliResult other = world.cli({"cache", "clean", "--provider-id", "debian-debian12-aarch64"});
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(world.objects().size(), kExpected.size()) << other.out;
  const CliResult dry = world.cli({"cache", "clean", "--provider-id", "debian-debian12-x86_64", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(world.objects().size(), kExpected.size());
  const CliResult clean = world.cli({"cache", "clean", "--provider-id", "debian-debian12-x86_64"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_THAT(world.objects(), ::testing::IsEmpty()) << clean.out;
  EXPECT_FALSE(fs::exists(world.cache_dir() / "used-by/debian-debian12-x86_64"));
  EXPECT_EQ(clean.out.substr(clean.out.find('\n')), dry.out.substr(dry.out.find('\n')));
}

}  // namespace
}  // namespace tests::repo
