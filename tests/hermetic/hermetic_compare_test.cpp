// `compare` of an image with its rebuild after one package moved to a new
// version, on the hermetic repository with every real stage: the image is
// built with "owners" 1.0, the repository is made again with owners 1.1
// beside it (new throw-away key, same place), and the same template is built
// again under the same SOURCE_DATE_EPOCH. The comparison is "different" (exit
// 1) and lists exactly that package among the packages, and among the files
// only that package's own, dpkg's records of it, the SBOM and the files that
// name the file systems' UUIDs (derived from the lockfile, so new).
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/hermetic/installable_defaults.hpp"
#include "tests/repo/repo_harness.hpp"

namespace tests::hermetic {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using repo::RepoWorld;

constexpr const char* kNewShadow = "secret of owners 1.1\n";

// owners 1.1: the fixture's owners 1.0 (make-debrepo.sh) with another
// /etc/oic-shadow and README.
void build_owners_1_1(const fs::path& dir) {
  const fs::path root = dir / "owners";
  fs::create_directories(root / "DEBIAN");
  repo::write_file(root / "DEBIAN/control",
                   "Package: owners\nVersion: 1.1\nArchitecture: amd64\n"
                   "Maintainer: OIC Tests <tests@example.invalid>\nInstalled-Size: 1\nDepends: base-tiny\n"
                   "Description: test package owners\n Tiny package used by the os-image-composer tests.\n");
  repo::write_file(root / "DEBIAN/postinst",
                   "#!/bin/sh\nset -e\nchown 0:42 /etc/oic-shadow\nchmod 0640 /etc/oic-shadow\n"
                   "chmod 04755 /usr/bin/oic-setuid\nmkdir -p /var/lib/oic-owners\n"
                   "echo \"configured by postinst\" >/var/lib/oic-owners/configured\n");
  fs::permissions(root / "DEBIAN/postinst", fs::perms(0755));
  repo::write_file(root / "etc/oic-shadow", kNewShadow);
  repo::write_file(root / "usr/bin/oic-setuid", "#!/bin/sh\necho owners\n");
  fs::permissions(root / "usr/bin/oic-setuid", fs::perms(0755));
  repo::write_file(root / "usr/share/doc/owners/README", "owners 1.1\n");
  ASSERT_EQ(debrepo::run_argv({"/usr/bin/dpkg-deb", "--root-owner-group", "-Zxz", "-b", root.string(),
                               (dir / "owners_1.1_amd64.deb").string()}),
            0);
  fs::remove_all(root);
}

class HermeticCompare : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One time for both builds: the repository made again has a new date.
    ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
    world_ = std::make_unique<RepoWorld>(std::vector<std::string>{"--installable"},
                                         std::vector<std::string>{"owners"});
    repo::write_file(world_->default_raw_template(), kInstallableDefaults);
    first_ = world_->full_cli({"build", world_->template_path().string()});
    if (first_.exit_code != 0) return;
    fs::create_directories(world_->root() / "first");
    fs::copy_file(disk(), first_disk());

    const fs::path debs = world_->root() / "new-debs";
    fs::create_directories(debs);
    build_owners_1_1(debs);
    fs::remove_all(world_->root() / "repo");
    debrepo::make_debrepo(world_->root() / "repo",
                          {"--more-relations", "--installable", "--extra-debs", debs.string()});
    repo::write_file(world_->default_raw_template(), kInstallableDefaults);
    second_ = world_->full_cli({"build", world_->template_path().string()});
  }
  static void TearDownTestSuite() {
    world_.reset();
    ::unsetenv("SOURCE_DATE_EPOCH");
  }

  void SetUp() override {
    ASSERT_EQ(first_.exit_code, 0) << first_.out << first_.err;
    ASSERT_EQ(second_.exit_code, 0) << second_.out << second_.err;
  }

  static fs::path disk() {
    return world_->root() / "work/debian-debian12-x86_64/imagebuild/repo-test/repo-test-1.0.0.raw";
  }
  static fs::path first_disk() { return world_->root() / "first/repo-test-1.0.0.raw"; }

  static inline std::unique_ptr<RepoWorld> world_;
  static inline repo::CliResult first_, second_;
};

TEST_F(HermeticCompare, ARebuildWithOnePackageAtANewVersionListsThatPackageAndItsFiles) {
  const repo::CliResult r =
      world_->full_cli({"compare", first_disk().string(), disk().string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(report.at("equality").at("class"), "different") << r.out;

  std::vector<json> packages;
  std::set<std::string> files;
  for (const json& change : report.at("diff")) {
    const std::string section = change.at("section");
    if (section == "packages") packages.push_back(change);
    if (section.starts_with("files (")) files.insert(change.at("item").get<std::string>());
  }
  ASSERT_EQ(packages.size(), 1u) << r.out;
  EXPECT_EQ(packages[0].at("item"), "owners:amd64") << packages[0];
  EXPECT_EQ(packages[0].at("change"), "changed") << packages[0];
  EXPECT_NE(packages[0].dump().find("\"from\":\"1.0\""), std::string::npos) << packages[0];
  EXPECT_NE(packages[0].dump().find("\"to\":\"1.1\""), std::string::npos) << packages[0];

  // The files of owners whose bytes changed, and nothing of any other
  // package. The file systems' UUIDs are derived from the template and the
  // lockfile (docs/reproducible-builds.md), so a new lock gives new ones and
  // the files that name them differ too.
  EXPECT_TRUE(files.count("/etc/oic-shadow")) << r.out;
  EXPECT_TRUE(files.count("/usr/share/doc/owners/README")) << r.out;
  EXPECT_FALSE(files.count("/usr/bin/oic-setuid")) << "its bytes are the same: " << r.out;
  for (const std::string& path : files) {
    const bool owners = path == "/etc/oic-shadow" || path == "/usr/share/doc/owners/README";
    const bool records = path.starts_with("/var/lib/dpkg/") || path.starts_with("/usr/share/sbom/");
    const bool uuids = path == "/etc/fstab" || path == "/etc/kernel/cmdline" || path.starts_with("/loader/entries/");
    EXPECT_TRUE(owners || records || uuids) << path << " differs: " << r.out;
  }
}

}  // namespace
}  // namespace tests::hermetic
