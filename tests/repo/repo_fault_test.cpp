// Tampered repositories and misbehaving servers through the real pipeline:
// each is rejected (or survived) with the right message, and the cache is
// left with no object of a bad package, no partial file and no staging dir.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "tests/repo/repo_harness.hpp"

namespace tests::repo {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct TamperCase {
  const char* label;
  std::vector<std::string> options;
  std::vector<std::string> extra_packages;
  std::string bad_deb;  // pool/main file that must not enter the cache, or empty
  std::vector<std::string> messages;
};

class RepoTamper : public ::testing::TestWithParam<TamperCase> {};

TEST_P(RepoTamper, IsRejectedAndLeavesNoTrace) {
  const TamperCase& c = GetParam();
  RepoWorld world(c.options, c.extra_packages);
  const CliResult r = world.cli({"build", world.template_path().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, Not(HasSubstr(kInstallerMissing)));
  for (const auto& m : c.messages) EXPECT_THAT(r.err, HasSubstr(m));
  if (!c.bad_deb.empty()) {
    // Under the hash the index promised (the cache's name for it) and under
    // the hash of the bytes served (they differ when a byte was flipped).
    const std::string promised = indexed_sha256(world.repo(), c.bad_deb);
    ASSERT_EQ(promised.size(), 64u) << c.bad_deb << " is not in the index";
    const auto objects = world.objects();
    for (const std::string& sha : {promised, sha256_hex(world.repo().deb(c.bad_deb))}) {
      EXPECT_FALSE(fs::exists(world.object_path(sha))) << c.bad_deb << " entered the cache as " << sha;
      EXPECT_TRUE(std::find(objects.begin(), objects.end(), sha) == objects.end());
    }
  }
  EXPECT_THAT(world.leftovers(), IsEmpty());
}

// A tampered archive that `fetch` (hashes only) put in the cache is refused
// by the next build before anything is installed, and evicted.
class RepoTamperedInCache : public ::testing::TestWithParam<TamperCase> {};

TEST_P(RepoTamperedInCache, IsRefusedByTheBuildAndEvicted) {
  const TamperCase& c = GetParam();
  RepoWorld world(c.options, c.extra_packages);
  const CliResult fetched = world.cli({"fetch", world.template_path().string()});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  const std::string sha = sha256_hex(world.repo().deb(c.bad_deb));
  ASSERT_TRUE(fs::exists(world.object_path(sha)));
  const CliResult r = world.cli({"build", world.template_path().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, Not(HasSubstr(kInstallerMissing)));
  EXPECT_THAT(r.err, HasSubstr("stage 'check-archives': "));
  for (const auto& m : c.messages) EXPECT_THAT(r.err, HasSubstr(m));
  EXPECT_THAT(r.err, HasSubstr("(repository 'template-0-oicbook'; removed from the cache)"));
  EXPECT_FALSE(fs::exists(world.object_path(sha)));
  EXPECT_FALSE(fs::exists(world.object_path(sha).string() + ".checked"));
  EXPECT_FALSE(fs::exists(world.object_path(sha).string() + ".name"));
  // The other packages passed, and are marked.
  std::size_t marked = 0;
  for (const auto& object : world.objects()) marked += fs::exists(world.object_path(object).string() + ".checked");
  EXPECT_EQ(marked, world.objects().size());
  EXPECT_GT(marked, 0u);
  EXPECT_THAT(world.leftovers(), IsEmpty());
}

const TamperCase kEvilDebs[] = {
    TamperCase{"DebWithDotDotMember", {"--evil", "dotdot"}, {"evil"}, "evil_1.0_all.deb",
               {"Failed to check package 'evil': member './usr/../../etc/evil-dotdot' of data.tar.xz has a "
                "'..' component in its name"}},
    TamperCase{"DebWithAbsoluteMember", {"--evil", "absolute"}, {"evil"}, "evil_1.0_all.deb",
               {"Failed to check package 'evil': member '/etc/evil-absolute' of data.tar.xz has an absolute "
                "name"}},
    TamperCase{"DebWithSymlinkEscape", {"--evil", "symlink"}, {"evil"}, "evil_1.0_all.deb",
               {"Failed to check package 'evil': member './usr/escape/evil-symlink' of data.tar.xz escapes "
                "through the symlink 'usr/escape' -> '/etc'"}},
};

auto case_label = [](const ::testing::TestParamInfo<TamperCase>& info) { return std::string(info.param.label); };
INSTANTIATE_TEST_SUITE_P(Repo, RepoTamperedInCache, ::testing::ValuesIn(kEvilDebs), case_label);

// Tampering the metadata, its signature or a package's bytes.
const TamperCase kTampered[] = {
    TamperCase{"FlippedByteInDeb", {"--flip-deb"}, {}, "foo_1.0-1_amd64.deb",
               {"Failed to download '", "/pool/main/foo_1.0-1_amd64.deb': sha256 is "}},
    TamperCase{"FlippedByteInPackages", {"--flip-packages-compressed"}, {}, "",
               {"stage 'verify-metadata': Failed to verify index 'main/binary-amd64/Packages.xz' of repository "
                "'template-0-oicbook': expected SHA256"}},
    TamperCase{"FlippedByteInInRelease", {"--flip-inrelease"}, {}, "",
               {"Failed to verify 'InRelease' of repository 'template-0-oicbook': BAD signature"}},
    TamperCase{"SignedByAnotherKey", {"--sign-with-other-key"}, {}, "",
               {"Failed to verify 'InRelease' of repository 'template-0-oicbook': signed by key",
                "which is not a configured key (NO_PUBKEY)"}},
    TamperCase{"ExpiredSignature", {"--expired-signature"}, {}, "",
               {"Failed to verify 'InRelease' of repository 'template-0-oicbook': the signature by key",
                "has expired"}},
    TamperCase{"ValidUntilInThePast", {"--valid-until", "past"}, {}, "",
               {"it expired: Valid-Until 2000-01-01 00:00:00 UTC is in the past"}},
    // A mirror updated between the InRelease and the index download, with no
    // by-hash copies to fall back on: refused, never a mixed snapshot.
    TamperCase{"MirrorMidUpdateWithoutByHash", {"--mid-update"}, {}, "",
               {"stage 'verify-metadata': Failed to verify index 'main/binary-amd64/Packages.xz' of repository "
                "'template-0-oicbook': expected SHA256"}},
};

INSTANTIATE_TEST_SUITE_P(Repo, RepoTamper, ::testing::ValuesIn(kTampered), case_label);
// The evil packages fetched by a build, as well as found in the cache above.
INSTANTIATE_TEST_SUITE_P(EvilDeb, RepoTamper, ::testing::ValuesIn(kEvilDebs), case_label);

constexpr const char* kFooPath = "/pool/main/foo_1.0-1_amd64.deb";

std::vector<json> log_of(RepoWorld& world, const std::string& path) {
  std::vector<json> entries;
  for (const auto& e : json::parse(world.httpd().request_log())) {
    if (e["path"] == path) entries.push_back(e);
  }
  return entries;
}

TEST(RepoFaults, ServerErrorTwiceIsRetried) {
  RepoWorld world;
  world.httpd().set_rules(std::string(R"({")") + kFooPath + R"(": {"status": 500, "times": 2}})");
  const CliResult r = world.cli({"build", world.template_path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(kInstallerMissing));
  const auto foo = log_of(world, kFooPath);
  ASSERT_EQ(foo.size(), 3u);
  EXPECT_EQ(foo[0]["status"], 500);
  EXPECT_EQ(foo[1]["status"], 500);
  EXPECT_EQ(foo[2]["status"], 200);
  EXPECT_EQ(world.objects().size(), 10u);
  EXPECT_THAT(world.leftovers(), IsEmpty());
}

TEST(RepoFaults, ServerErrorForeverFailsNamingUrlAndStatus) {
  RepoWorld world;
  world.httpd().set_rules(std::string(R"({")") + kFooPath + R"(": {"status": 500}})");
  const CliResult r = world.cli({"build", world.template_path().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("Failed to download '" + world.base_url() + kFooPath + "'"));
  EXPECT_THAT(r.err, HasSubstr("HTTP 500"));
  EXPECT_THAT(r.err, Not(HasSubstr(kInstallerMissing)));
  const std::string sha = sha256_hex(world.repo().deb("foo_1.0-1_amd64.deb"));
  EXPECT_FALSE(fs::exists(world.object_path(sha)));
  EXPECT_THAT(world.leftovers(), IsEmpty());
}

TEST(RepoFaults, TruncatedBodyIsResumed) {
  RepoWorld world;
  world.httpd().set_rules(std::string(R"({")") + kFooPath + R"(": {"truncate_at": 300, "times": 1}})");
  const CliResult r = world.cli({"build", world.template_path().string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(kInstallerMissing));
  const auto foo = log_of(world, kFooPath);
  ASSERT_EQ(foo.size(), 2u);
  EXPECT_EQ(foo[1]["range"], "bytes=300-");
  EXPECT_EQ(foo[1]["status"], 206);
  const std::string sha = sha256_hex(world.repo().deb("foo_1.0-1_amd64.deb"));
  EXPECT_EQ(sha256_hex(world.object_path(sha)), sha);
  EXPECT_THAT(world.leftovers(), IsEmpty());
}

// Sets an environment variable for the CLI runs of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

// The same mirror caught mid-update, but its Release offers Acquire-By-Hash:
// the indexes come from by-hash/SHA256/<hash> as the verified InRelease
// lists them (as apt fetches them), so the lock succeeds and the index
// served by name is never asked for.
TEST(RepoFaults, MirrorMidUpdateIsLockedFromTheIndexesByHash) {
  RepoWorld world({"--by-hash", "--mid-update"});
  const CliResult r = world.cli({"lock", world.template_path().string(), "-o", (world.root() / "lock.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t by_hash = 0;
  for (const auto& e : json::parse(world.httpd().request_log())) {
    const std::string path = e["path"];
    EXPECT_NE(path, "/dists/oicbook/main/binary-amd64/Packages.xz");
    if (path.starts_with("/dists/oicbook/main/binary-amd64/by-hash/SHA256/")) ++by_hash;
  }
  EXPECT_EQ(by_hash, 1u);
}

TEST(RepoFaults, StalledDownloadFailsAtThePerFileTimeLimitNamingTheFile) {
  RepoWorld world;
  const fs::path lockfile = world.root() / "lock.json";
  ASSERT_EQ(world.cli({"lock", world.template_path().string(), "-o", lockfile.string()}).exit_code, 0);
  // Every attempt gets 10 more bytes, then nothing for a minute.
  world.httpd().set_rules(std::string(R"({")") + kFooPath + R"(": {"stall_at": 10, "stall_for": 60}})");
  const ScopedEnv timeout("OIC_FETCH_FILE_TIMEOUT", "2");
  const auto started = std::chrono::steady_clock::now();
  const CliResult r = world.cli({"build", world.template_path().string(), "--lockfile", lockfile.string()});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(50));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("Failed to download '" + world.base_url() + kFooPath +
                               "': per-file time limit of 2 s reached"));
  EXPECT_THAT(r.err, HasSubstr("(after 4 attempts)"));
  EXPECT_THAT(r.err, Not(HasSubstr(kInstallerMissing)));
  // The retries resumed the received prefix instead of starting over.
  const auto foo = log_of(world, kFooPath);
  ASSERT_EQ(foo.size(), 4u);
  EXPECT_EQ(foo[1]["range"], "bytes=10-");
  const std::string sha = sha256_hex(world.repo().deb("foo_1.0-1_amd64.deb"));
  EXPECT_FALSE(fs::exists(world.object_path(sha)));
  EXPECT_THAT(world.leftovers(), IsEmpty());
}

TEST(RepoFaults, MalformedFileTimeoutIsRefusedBeforeAnyDownload) {
  RepoWorld world;
  const ScopedEnv timeout("OIC_FETCH_FILE_TIMEOUT", "2m");
  const CliResult r = world.cli({"build", world.template_path().string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("invalid OIC_FETCH_FILE_TIMEOUT '2m': expected whole seconds, 1..86400"));
  EXPECT_THAT(world.requested_paths(), IsEmpty());
}

}  // namespace
}  // namespace tests::repo
