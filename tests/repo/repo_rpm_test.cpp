// `lock` of an azl3 template whose repository is a user's own mirror: a
// copied config dir whose azl3 provider points at the signed synthetic RPM
// repository (make-rpmrepo.sh --small) served on 127.0.0.1, with that
// repository's key shipped in keys/ and pinned, as azl3's own keys are.
#include <algorithm>
#include <regex>
#include <set>

#include <gmock/gmock.h>

#include "tests/fixtures/rpmrepo/rpmrepo.hpp"
#include "tests/repo/repo_harness.hpp"

namespace tests::repo {
namespace {

class RpmWorld {
 public:
  // repoGPGCheck as the provider states it: azl3's true, emt3's false;
  // `package` alone is what the template asks for.
  explicit RpmWorld(const std::vector<std::string>& tamper = {}, bool repo_gpg_check = true,
                    const std::string& package = "app")
      : repo_(rpmrepo::make_small_rpmrepo(root() / "fixture", tamper)),
        httpd_(std::make_unique<fixtures::FaultHttpd>(repo_.repo())) {
    write_config_dir(repo_gpg_check, package);
    write_file(root() / "image.yml",
               "image:\n  name: rpm-test\n  version: \"1.0.0\"\n"
               "target:\n  os: azure-linux\n  dist: azl3\n  arch: x86_64\n  imageType: raw\n"
               "systemConfig:\n  name: rpm-test\n  packages:\n    - " + package + "\n");
    write_file(root() / "config.yml", "workers: 2\nconfig_dir: " + (root() / "config").string() +
                                          "\ncache_dir: " + (root() / "cache").string() + "\nwork_dir: " +
                                          (root() / "work").string() + "\ntemp_dir: " + (root() / "tmp").string() + "\n");
    fs::create_directories(root() / "tmp");
  }

  const fs::path& root() const { return dir_.path(); }
  const rpmrepo::RpmRepo& repo() const { return repo_; }
  fs::path lock_path() const { return root() / "lock.json"; }

  CliResult lock() {
    return run_process({download_only_cli(), "--config", (root() / "config.yml").string(), "lock",
                        (root() / "image.yml").string(), "-o", lock_path().string()},
                       root() / ("cli-" + std::to_string(++runs_)));
  }

  // The packages of the lock into the cache, hashes, header signatures and file lists checked.
  CliResult fetch() {
    return run_process({download_only_cli(), "--config", (root() / "config.yml").string(), "fetch",
                        (root() / "image.yml").string(), "--lockfile", lock_path().string(), "--check-archives"},
                       root() / ("cli-" + std::to_string(++runs_)));
  }

  // Every file the runs left under cache/, work/ and tmp/, relative to the world
  // (the cache/ layout: docs/fetching-and-cache.md).
  std::vector<std::string> kept_files() const {
    std::vector<std::string> found;
    for (const char* dir : {"cache", "work", "tmp"}) {
      std::error_code ec;
      for (fs::recursive_directory_iterator it(root() / dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_directory()) found.push_back(fs::relative(it->path(), root()).string());
      }
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  std::vector<std::string> requested_paths() {
    std::vector<std::string> paths;
    for (const auto& entry : json::parse(httpd_->request_log())) paths.push_back(entry["path"].get<std::string>());
    return paths;
  }

 private:
  // azl3 as shipped, its repository and key replaced by the fixture's, its
  // default packages by `package` alone and no kernel, so the lock can be checked exactly.
  void write_config_dir(bool repo_gpg_check, const std::string& package) {
    const fs::path os_dir = root() / "config/osv/azure-linux/azl3";
    fs::create_directories(os_dir);
    fs::copy(fs::path(OIC_SOURCE_ROOT) / "config/osv/azure-linux/azl3", os_dir, fs::copy_options::recursive);
    fs::copy_file(repo_.key(), os_dir / "keys/RPM-GPG-KEY");
    write_file(os_dir / "providerconfigs/x86_64_repo.yml",
               "repositories:\n  - name: azurelinux-3.0-base\n    type: rpm\n"
               "    baseURL: http://127.0.0.1:" + std::to_string(httpd_->port()) +
                   "\n    keyFiles: [keys/RPM-GPG-KEY]\n    keyFingerprints: [" + repo_.fingerprint() +
                   "]\n    repoGPGCheck: " + (repo_gpg_check ? "true" : "false") + "\n");
    use_fixture_package(os_dir / "imageconfigs/defaultconfigs/default-raw-x86_64.yml", package);
  }

  debrepo::TempDir dir_;
  rpmrepo::RpmRepo repo_;
  std::unique_ptr<fixtures::FaultHttpd> httpd_;
  int runs_ = 0;
};

std::set<std::string> locked_packages(const json& lock) {
  std::set<std::string> out;
  for (const auto& p : lock["packages"]) {
    out.insert(p["name"].get<std::string>() + " " + p["version"].get<std::string>() + " " +
               p["architecture"].get<std::string>());
  }
  return out;
}

// The locked sha256 of `name`: the name its object has in the package cache.
std::string locked_sha256(const json& lock, const std::string& name) {
  for (const auto& p : lock["packages"]) {
    if (p["name"] == name) return p["sha256"].get<std::string>();
  }
  return {};
}

// Kept files that name `words` (a package's file name or a sha256), except
// the object's empty per-object flock file, which the cache keeps by design
// (unlinking a lock file another build may hold breaks the lock).
std::vector<std::string> kept_files_naming(const RpmWorld& world, const std::vector<std::string>& words) {
  std::vector<std::string> found;
  for (const auto& file : world.kept_files()) {
    const bool empty_lock = file.ends_with(".lock") && fs::file_size(world.root() / file) == 0;
    for (const auto& word : words) {
      if (!word.empty() && file.find(word) != std::string::npos && !empty_lock) found.push_back(file);
    }
  }
  return found;
}

// What a failed or interrupted write leaves: partial or temporary files,
// staged downloads and index texts, anything in the workspace or temp dir.
std::vector<std::string> kept_partial_files(const RpmWorld& world) {
  std::vector<std::string> found;
  for (const auto& file : world.kept_files()) {
    const bool scratch = file.starts_with("work/") || file.starts_with("tmp/") || file.starts_with("cache/tmp/");
    if (scratch || file.find(".part") != std::string::npos || file.find(".tmp") != std::string::npos ||
        file.ends_with(".text")) {
      found.push_back(file);
    }
  }
  return found;
}

bool is_filelists(const std::string& path) { return path.find("-filelists.xml") != std::string::npos; }

// app's rich and file dependencies (the file only in filelists), the Epoch
// that makes libb 1:2.0 newer than 3.0, and new obsoleting old.
const std::set<std::string> kExpected = {"app 1.0-1 x86_64",  "filesystem 1.0-1 x86_64", "libb 1:2.0-1 x86_64",
                                         "new 2.0-1 x86_64",  "oic-data 1.0-1 noarch",   "tool 1.0-1 x86_64"};

TEST(RpmRepoLock, LocksTheAzl3TemplateOnTheSignedFixture) {
  RpmWorld world;
  const CliResult r = world.lock();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json lock = json::parse(slurp(world.lock_path()));
  EXPECT_EQ(lock["family"], "rpm");
  EXPECT_EQ(lock["provider"], "azure-linux-azl3-x86_64");
  EXPECT_EQ(locked_packages(lock), kExpected);
  ASSERT_EQ(lock["repositories"].size(), 1u);
  EXPECT_EQ(lock["repositories"][0]["signer"], world.repo().fingerprint());
  EXPECT_FALSE(lock["repositories"][0].contains("deb"));
  // repomd.xml's revision, the time make-rpmrepo.sh builds with.
  EXPECT_EQ(lock["repositories"][0]["date"], world.repo().revision());
  const auto paths = world.requested_paths();
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/repodata/repomd.xml.asc"), paths.end());
  // app's /opt/oic/data/thing is listed in filelists only.
  EXPECT_EQ(std::count_if(paths.begin(), paths.end(), is_filelists), 1) << r.err;
  // The second lock reads the verified texts from the metadata cache.
  const CliResult again = world.lock();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE((again.out + again.err).find("Package indexes: 2 from the metadata cache"), std::string::npos) << again.err;
}

// oic-data needs only filesystem, no file: primary alone resolves it, and
// filelists is never downloaded.
TEST(RpmRepoLock, FilelistsAreNotFetchedWhenPrimarySatisfiesEveryDependency) {
  RpmWorld world({}, true, "oic-data");
  const CliResult r = world.lock();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json lock = json::parse(slurp(world.lock_path()));
  EXPECT_EQ(locked_packages(lock), (std::set<std::string>{"filesystem 1.0-1 x86_64", "oic-data 1.0-1 noarch"}));
  const auto paths = world.requested_paths();
  EXPECT_EQ(std::count_if(paths.begin(), paths.end(), is_filelists), 0);
  EXPECT_EQ(std::count_if(paths.begin(), paths.end(),
                          [](const std::string& p) { return p.find("-primary.xml") != std::string::npos; }), 1);
}

// emt3's repository publishes no repomd.xml.asc: with repoGPGCheck off none
// is asked for, and the lock names no metadata signer.
TEST(RpmRepoLock, AnUnsignedRepomdLocksWhenTheProviderChecksPackagesOnly) {
  RpmWorld world({"--emt"}, false);
  const CliResult r = world.lock();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json lock = json::parse(slurp(world.lock_path()));
  EXPECT_EQ(locked_packages(lock), kExpected);
  EXPECT_EQ(lock["repositories"][0]["signer"], "");
  const auto paths = world.requested_paths();
  EXPECT_EQ(std::find(paths.begin(), paths.end(), "/repodata/repomd.xml.asc"), paths.end());
}

// With repoGPGCheck on, repomd.xml must come with a signature by the pinned
// key, and primary must be the one it lists.
TEST(RpmRepoLock, RefusesAMissingOrForeignRepomdSignatureAndAnUnlistedPrimary) {
  const std::pair<const char*, const char*> cases[] = {
      {"--no-asc", "repomd.xml.asc': HTTP 404"},
      {"--asc-other-key", "azurelinux-3.0-base"},
      {"--primary-checksum-mismatch", "primary.xml.xz': sha256 is"},
  };
  for (const auto& [tamper, expected] : cases) {
    SCOPED_TRACE(tamper);
    RpmWorld world({tamper});
    const CliResult r = world.lock();
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(world.lock_path()));
    // Nothing of the refused metadata is kept: no index text, no repomd, no
    // trust record; only the cache's own lock file.
    EXPECT_EQ(world.kept_files(), std::vector<std::string>{"cache/.lock"});
  }
}

// The packages are checked against the keys of their repository: what the
// provider ships (here the fixture's key), not any key the verifier knows.
TEST(RpmRepoFetch, PackagesSignedByTheRepositorysKeyAreFetchedOthersRefused) {
  RpmWorld good;
  ASSERT_EQ(good.lock().exit_code, 0);
  const CliResult fetched = good.fetch();
  EXPECT_EQ(fetched.exit_code, 0) << fetched.err;
  RpmWorld other({"--other-key-rpm"});
  const CliResult locked = other.lock();
  ASSERT_EQ(locked.exit_code, 0) << locked.err;  // repomd and primary are the repository's own
  const CliResult refused = other.fetch();
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("app"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("azurelinux-3.0-base"), std::string::npos) << refused.err;
}

// Each tampered package passes lock (the metadata is the repository's own)
// and is refused by fetch --check-archives, named with its repository and
// what is wrong; nothing of it stays in the cache, workspace or temp dir.
TEST(RpmRepoFetch, EveryTamperedPackageIsRefusedAndNothingOfItIsKept) {
  struct Case {
    const char* tamper;
    const char* package;
    const char* reason;
  };
  const Case cases[] = {
      {"--flip-rpm", "app", "payload digest mismatch"},
      {"--unsigned-rpm", "app", "unsigned (its signature header holds no OpenPGP header signature)"},
      {"--other-key-rpm", "app", "header signature: signed by key "},
      {"--dev-entry", "evil-dev", "file '/dev/oic-null' is a character device"},
      {"--dotdot", "evil-dotdot", "file '/usr/../../../etc/oic-evil-dotdot' has a '..' component"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.tamper);
    RpmWorld world({c.tamper}, true, c.package);
    const CliResult locked = world.lock();
    ASSERT_EQ(locked.exit_code, 0) << locked.err;
    const std::string sha256 = locked_sha256(json::parse(slurp(world.lock_path())), c.package);
    ASSERT_EQ(sha256.size(), 64u);
    const CliResult refused = world.fetch();
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("package '" + std::string(c.package) + "' from repository 'azurelinux-3.0-base'"),
              std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find(c.reason), std::string::npos) << refused.err;
    // Its file name, the hash the lock names and the hash of the served bytes.
    std::vector<std::string> words = {sha256};
    for (const auto& rpm : world.repo().rpms()) {
      if (rpm.starts_with(c.package + std::string("-1.0-"))) {
        words.push_back(rpm);
        words.push_back(sha256_hex(world.repo().rpm(rpm)));
      }
    }
    ASSERT_EQ(words.size(), 3u);
    EXPECT_THAT(kept_files_naming(world, words), ::testing::IsEmpty());
    EXPECT_THAT(kept_partial_files(world), ::testing::IsEmpty());
  }
}

}  // namespace
}  // namespace tests::repo
