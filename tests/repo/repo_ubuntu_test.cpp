// `lock` of an Ubuntu 24.04 (ubuntu/ubuntu24) template against a hermetic
// fixture: ubuntu24's shipped OS data (config.yml, repository file, chroot
// env, raw default) with only what reaches the network replaced. The
// repository entries take their URL from the machine's apt sources
// (`source: host-apt`), which name no Ubuntu archive here: the noble entry
// gets the local server's URL instead and the Ubuntu archive key the
// fixture's, pinned the same way; noble-updates and noble-security, which
// the fixture does not serve, are left out. make-debrepo.sh's packages have
// synthetic names, so the essential list becomes base-tiny, the default's
// packages foo and its kernel none; everything else is ubuntu24's as shipped.
#include <regex>
#include <set>

#include <gmock/gmock.h>

#include "tests/repo/repo_harness.hpp"

namespace tests::repo {
namespace {

const fs::path kUbuntu24 = "config/osv/ubuntu/ubuntu24";
constexpr const char* kUbuntuKey = "keys/ubuntu-archive-2018.asc";
constexpr const char* kUbuntuFingerprint = "F6ECB3762474EDA9D21B7022871920D1991BC93C";

class UbuntuWorld {
 public:
  UbuntuWorld() : repo_(debrepo::make_debrepo_from_base(root() / "repo", {"--more-relations", "--codename", "noble"})) {
    httpd_ = std::make_unique<fixtures::FaultHttpd>(repo_.root);
    write_config_dir();
    write_file(root() / "image.yml",
               "image:\n  name: ubuntu-lock-test\n  version: \"1.0.0\"\n"
               "target:\n  os: ubuntu\n  dist: ubuntu24\n  arch: x86_64\n  imageType: raw\n"
               "systemConfig:\n  name: ubuntu-lock-test\n  packages:\n    - baz\n    - app\n    - tool\n");
    write_file(root() / "config.yml", "workers: 2\nconfig_dir: " + (root() / "config").string() +
                                          "\ncache_dir: " + (root() / "cache").string() + "\nwork_dir: " +
                                          (root() / "work").string() + "\ntemp_dir: " + (root() / "tmp").string() + "\n");
    fs::create_directories(root() / "tmp");
  }

  const fs::path& root() const { return dir_.path(); }
  const debrepo::DebRepo& repo() const { return repo_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(httpd_->port()); }
  fs::path lock_path() const { return root() / "lock.json"; }
  fs::path os_dir() const { return root() / "config" / kUbuntu24.lexically_relative("config"); }

  CliResult lock() {
    return run_process({download_only_cli(), "--config", (root() / "config.yml").string(), "lock",
                        (root() / "image.yml").string(), "-o", lock_path().string()},
                       root() / ("cli-" + std::to_string(++runs_)));
  }

 private:
  void write_config_dir() {
    fs::create_directories(os_dir());
    fs::copy(fs::path(OIC_SOURCE_ROOT) / kUbuntu24, os_dir(), fs::copy_options::recursive);
    fs::copy_file(repo_.armored_keyring(), os_dir() / "keys/fixture.asc");
    const fs::path repo_file = os_dir() / "providerconfigs/amd64_repo.yml";
    std::string repos = slurp(repo_file);
    const auto updates = repos.find("  - name: noble-updates\n");
    ASSERT_NE(updates, std::string::npos) << repos;
    repos = repos.substr(0, updates);
    repos = std::regex_replace(repos, std::regex("    source: host-apt\n"), "    baseURL: " + base_url() + "\n");
    repos = std::regex_replace(repos, std::regex("    required: .*\n"), "");
    repos = std::regex_replace(repos, std::regex("component: main restricted universe multiverse"), "component: main");
    repos = std::regex_replace(repos, std::regex(kUbuntuKey), "keys/fixture.asc");
    repos = std::regex_replace(repos, std::regex(kUbuntuFingerprint), repo_.fingerprint());
    write_file(repo_file, repos);
    write_file(os_dir() / "chrootenvconfigs/chrootenv_x86_64.yml", "essential:\n  - base-tiny\npackages:\n  - oldfoo\n");
    use_fixture_package(os_dir() / "imageconfigs/defaultconfigs/default-raw-x86_64.yml", "foo");
  }

  debrepo::TempDir dir_;
  debrepo::DebRepo repo_;
  std::unique_ptr<fixtures::FaultHttpd> httpd_;
  int runs_ = 0;
};

// The resolution is the fixture's (as tests/repo/repo_test.cpp checks it for
// debian12), under ubuntu24's provider, repository name and pinned signer.
TEST(UbuntuRepoLock, LocksAnUbuntu24TemplateWithItsShippedOsData) {
  UbuntuWorld world;
  const CliResult r = world.lock();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json lock = json::parse(slurp(world.lock_path()));
  EXPECT_EQ(lock["family"], "deb");
  EXPECT_EQ(lock["provider"], "ubuntu-ubuntu24-x86_64");
  EXPECT_EQ(lock["target"]["dist"], "ubuntu24");
  ASSERT_EQ(lock["repositories"].size(), 1u);
  const json& repo = lock["repositories"][0];
  EXPECT_EQ(repo["name"], "noble");
  EXPECT_EQ(repo["url"], world.base_url());
  EXPECT_EQ(repo["deb"]["suite"], "noble");
  EXPECT_EQ(repo["signer"], world.repo().fingerprint());
  std::set<std::string> locked;
  for (const auto& p : lock["packages"]) {
    locked.insert(p["name"].get<std::string>() + " " + p["version"].get<std::string>());
    EXPECT_EQ(p["repository"], "noble");
  }
  EXPECT_EQ(locked, (std::set<std::string>{"app 3.1-2", "bar 2.0", "base-tiny 1.0", "baz 0.5", "editor-b 2.1",
                                           "foo 1.0-1", "foo-common 1.0-1", "libfoo1 1.0-1", "new-lib 1.5",
                                           "tool 1.0"}));
}

// The pin holds under Ubuntu's data too: the same repository signed by a
// key the provider does not pin is refused, naming the repository.
TEST(UbuntuRepoLock, ARepositorySignedByAnUnpinnedKeyIsRefused) {
  UbuntuWorld world;
  const fs::path repo_file = world.os_dir() / "providerconfigs/amd64_repo.yml";
  write_file(repo_file, std::regex_replace(slurp(repo_file), std::regex(world.repo().fingerprint()),
                                           world.repo().other_fingerprint()));
  const CliResult r = world.lock();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, ::testing::HasSubstr("of repository 'noble': signed by key ")) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr("does not match the pinned fingerprint")) << r.err;
  EXPECT_FALSE(fs::exists(world.lock_path()));
}

}  // namespace
}  // namespace tests::repo
