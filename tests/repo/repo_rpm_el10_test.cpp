// `lock` of a CentOS Stream 10 (redhat-compatible-distro/el10) template
// against a hermetic fixture: el10's shipped provider (BaseOS and AppStream,
// header signatures checked by a pinned key, no repomd.xml.asc) with only its
// mirror host and key replaced, served on 127.0.0.1. The repositories are
// made from the signed synthetic packages of make-rpmrepo.sh --small, split
// over BaseOS and AppStream and indexed with createrepo_c (unsigned, as
// CentOS Stream's are). Those packages have synthetic names, not el10's, so
// the el10 raw default's package list is replaced by `filesystem` (a name of
// both) and the template asks for `app`; everything else is el10's as shipped.
#include <algorithm>
#include <regex>
#include <set>

#include <gmock/gmock.h>

#include "tests/fixtures/rpmrepo/rpmrepo.hpp"
#include "tests/repo/repo_harness.hpp"

namespace tests::repo {
namespace {

const fs::path kEl10 = "config/osv/redhat-compatible-distro/el10";
constexpr const char* kMirror = "https://mirror.stream.centos.org";
constexpr const char* kBaseOs = "10-stream/BaseOS/x86_64/os";
constexpr const char* kAppStream = "10-stream/AppStream/x86_64/os";

// The packages AppStream carries; BaseOS has every other package of the fixture.
bool in_appstream(const std::string& rpm_file) {
  return rpm_file.starts_with("app-") || rpm_file.starts_with("oic-data-");
}

class El10World {
 public:
  El10World()
      : fixture_(rpmrepo::make_small_rpmrepo(root() / "fixture", {"--emt"})) {
    split_into_repositories();
    httpd_ = std::make_unique<fixtures::FaultHttpd>(root() / "www");
    write_config_dir();
    write_file(root() / "image.yml",
               "image:\n  name: el10-lock-test\n  version: \"1.0.0\"\n"
               "target:\n  os: redhat-compatible-distro\n  dist: el10\n  arch: x86_64\n  imageType: raw\n"
               "systemConfig:\n  name: el10-lock-test\n  packages:\n    - app\n");
    write_file(root() / "config.yml", "workers: 2\nconfig_dir: " + (root() / "config").string() +
                                          "\ncache_dir: " + (root() / "cache").string() + "\nwork_dir: " +
                                          (root() / "work").string() + "\ntemp_dir: " + (root() / "tmp").string() + "\n");
    fs::create_directories(root() / "tmp");
  }

  const fs::path& root() const { return dir_.path(); }
  const rpmrepo::RpmRepo& fixture() const { return fixture_; }
  fs::path lock_path() const { return root() / "lock.json"; }
  fs::path os_dir() const { return root() / "config" / kEl10.lexically_relative("config"); }

  CliResult lock() {
    return run_process({download_only_cli(), "--config", (root() / "config.yml").string(), "lock",
                        (root() / "image.yml").string(), "-o", lock_path().string()},
                       root() / ("cli-" + std::to_string(++runs_)));
  }

  CliResult fetch() {
    return run_process({download_only_cli(), "--config", (root() / "config.yml").string(), "fetch",
                        (root() / "image.yml").string(), "--lockfile", lock_path().string(), "--check-archives"},
                       root() / ("cli-" + std::to_string(++runs_)));
  }

  std::vector<std::string> requested_paths() {
    std::vector<std::string> paths;
    for (const auto& entry : json::parse(httpd_->request_log())) paths.push_back(entry["path"].get<std::string>());
    return paths;
  }

 private:
  // The fixture's signed packages, each in BaseOS or AppStream, each
  // directory indexed by createrepo_c.
  void split_into_repositories() {
    for (const char* repo : {kBaseOs, kAppStream}) fs::create_directories(root() / "www" / repo);
    for (const std::string& rpm : fixture_.rpms()) {
      const char* repo = in_appstream(rpm) ? kAppStream : kBaseOs;
      fs::copy_file(fixture_.rpm(rpm), root() / "www" / repo / rpm);
    }
    for (const char* repo : {kBaseOs, kAppStream}) {
      const fs::path dir = root() / "www" / repo;
      ASSERT_EQ(rpmrepo::run_argv({"/usr/bin/createrepo_c", "--quiet", "--no-database", dir.string()}), 0) << dir;
    }
  }

  // el10 as shipped; the mirror's host becomes the local server and the
  // CentOS key the fixture's, pinned the same way. The raw default keeps its
  // disk, boot loader and configurations; its packages become `filesystem`
  // and its kernel none, which the fixture lacks.
  void write_config_dir() {
    fs::create_directories(os_dir());
    fs::copy(fs::path(OIC_SOURCE_ROOT) / kEl10, os_dir(), fs::copy_options::recursive);
    fs::copy_file(fixture_.key(), os_dir() / "keys/FIXTURE-GPG-KEY");
    const fs::path repo_file = os_dir() / "providerconfigs/x86_64_repo.yml";
    std::string repos = slurp(repo_file);
    repos = std::regex_replace(repos, std::regex(kMirror), "http://127.0.0.1:" + std::to_string(httpd_->port()));
    repos = std::regex_replace(repos, std::regex("keys/RPM-GPG-KEY-CentOS-Official-SHA256"), "keys/FIXTURE-GPG-KEY");
    repos = std::regex_replace(repos, std::regex("99DB70FAE1D7CE227FB6488205B555B38483C65D"), fixture_.fingerprint());
    ASSERT_EQ(repos.find("mirror.stream.centos.org"), std::string::npos) << repos;
    write_file(repo_file, repos);
    use_fixture_package(os_dir() / "imageconfigs/defaultconfigs/default-raw-x86_64.yml", "filesystem");
  }

  debrepo::TempDir dir_;
  rpmrepo::RpmRepo fixture_;
  std::unique_ptr<fixtures::FaultHttpd> httpd_;
  int runs_ = 0;
};

// name version architecture repository, for every locked package.
std::set<std::string> locked_packages(const json& lock) {
  std::set<std::string> out;
  for (const auto& p : lock["packages"]) {
    out.insert(p["name"].get<std::string>() + " " + p["version"].get<std::string>() + " " +
               p["architecture"].get<std::string>() + " " + p["repository"].get<std::string>());
  }
  return out;
}

// app (AppStream) needs libb, tool and new from BaseOS and a file only
// AppStream's oic-data holds (listed in its filelists).
TEST(El10RepoLock, LocksAnEl10TemplateAcrossBaseOsAndAppStream) {
  El10World world;
  const CliResult r = world.lock();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json lock = json::parse(slurp(world.lock_path()));
  EXPECT_EQ(lock["family"], "rpm");
  EXPECT_EQ(lock["provider"], "redhat-compatible-distro-el10-x86_64");
  EXPECT_EQ(lock["target"]["dist"], "el10");
  const std::string base = "CentOS-Stream-10-BaseOS", app_stream = "CentOS-Stream-10-AppStream";
  EXPECT_EQ(locked_packages(lock),
            (std::set<std::string>{"app 1.0-1 x86_64 " + app_stream, "oic-data 1.0-1 noarch " + app_stream,
                                   "filesystem 1.0-1 x86_64 " + base, "libb 1:2.0-1 x86_64 " + base,
                                   "new 2.0-1 x86_64 " + base, "tool 1.0-1 x86_64 " + base}));
  // Both repositories, unsigned metadata: no signer, and no .asc asked for.
  ASSERT_EQ(lock["repositories"].size(), 2u);
  EXPECT_EQ(lock["repositories"][0]["name"], base);
  EXPECT_EQ(lock["repositories"][1]["name"], app_stream);
  for (const auto& repo : lock["repositories"]) EXPECT_EQ(repo["signer"], "") << repo.dump();
  const auto paths = world.requested_paths();
  for (const char* repo : {kBaseOs, kAppStream}) {
    const std::string repomd = "/" + std::string(repo) + "/repodata/repomd.xml";
    EXPECT_NE(std::find(paths.begin(), paths.end(), repomd), paths.end()) << repomd;
    EXPECT_EQ(std::find(paths.begin(), paths.end(), repomd + ".asc"), paths.end()) << repomd;
  }
}

// With no repomd signature, the pinned key's header signatures are the
// anchor: fetch --check-archives takes the locked packages from both
// repositories, and a package signed by another key is refused.
TEST(El10RepoLock, FetchChecksEachPackageAgainstThePinnedKey) {
  El10World world;
  ASSERT_EQ(world.lock().exit_code, 0);
  const CliResult fetched = world.fetch();
  EXPECT_EQ(fetched.exit_code, 0) << fetched.err;

  // The same world with the pin naming the fixture's other key: every
  // header signature is now by an unpinned key.
  El10World foreign;
  const fs::path repo_file = foreign.os_dir() / "providerconfigs/x86_64_repo.yml";
  write_file(repo_file, std::regex_replace(slurp(repo_file), std::regex(foreign.fixture().fingerprint()),
                                           foreign.fixture().other_fingerprint()));
  fs::copy_file(foreign.fixture().other_key(), foreign.os_dir() / "keys/FIXTURE-GPG-KEY",
                fs::copy_options::overwrite_existing);
  ASSERT_EQ(foreign.lock().exit_code, 0);
  const CliResult refused = foreign.fetch();
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, ::testing::HasSubstr("from repository 'CentOS-Stream-10-")) << refused.err;
  EXPECT_THAT(refused.err, ::testing::HasSubstr("header signature: signed by key ")) << refused.err;
}

}  // namespace
}  // namespace tests::repo
