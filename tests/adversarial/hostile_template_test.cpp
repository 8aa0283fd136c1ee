// A hostile template against the real CLI (the hermetic repository of
// tests/repo): additionalFiles naming a private key of the user,
// /etc/shadow, or a link in the template's directory that leads to the key
// are refused before anything is fetched, naming the file and the flag that
// would allow it; with the flag the build goes on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/repo/repo_harness.hpp"

namespace tests::repo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class HostileTemplate : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_STRNE(RepoWorld::kCliPath(), "") << "OIC_CLI must name the binary";
    write_file(private_key(), "-----BEGIN OPENSSH PRIVATE KEY-----\n");
  }

  // The user's key, outside the template's directory (world root/tmpl).
  fs::path private_key() const { return world_.root() / "home/.ssh/id_ed25519"; }
  fs::path template_path() const { return world_.root() / "tmpl/image.yml"; }

  // The repository's template with one additional file.
  void write_template(const std::string& local) const {
    const std::string original = slurp(world_.template_path());
    write_file(template_path(), original + "  additionalFiles:\n    - local: " + local +
                                    "\n      final: /etc/oic-copied\n");
  }

  CliResult build(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"build", template_path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return world_.cli(args);
  }

  void expect_refused_before_any_download(const CliResult& r, const std::string& file) {
    EXPECT_EQ(r.exit_code, 2) << r.err;  // invalid input
    EXPECT_THAT(r.err, HasSubstr(file));
    EXPECT_THAT(r.err, HasSubstr("--allow-outside-files"));
    EXPECT_TRUE(world_.requested_paths().empty()) << "the build fetched before refusing";
  }

  RepoWorld world_;
};

TEST_F(HostileTemplate, APrivateKeyOfTheUserIsRefused) {
  write_template(private_key().string());
  const CliResult r = build();
  expect_refused_before_any_download(r, "additional file '" + private_key().string() +
                                            "' is outside the template's and the OS data's directories");
}

TEST_F(HostileTemplate, EtcShadowIsRefused) {
  write_template("/etc/shadow");
  expect_refused_before_any_download(build(), "additional file '/etc/shadow' is outside");
}

// Named by its absolute path inside the template's directory (validation
// only checks that it exists), the link leads to the key: refused.
TEST_F(HostileTemplate, ALinkInsideTheTemplateDirectoryLeadingOutIsRefused) {
  const fs::path link = template_path().parent_path() / "files/key";
  fs::create_directories(link.parent_path());
  fs::create_symlink(private_key(), link);
  write_template(link.string());
  expect_refused_before_any_download(build(), "additional file '" + link.string() + "' leads out of '" +
                                                  template_path().parent_path().string() +
                                                  "' through a symbolic link");
}

TEST_F(HostileTemplate, TheFlagLetsTheUserUseAFileOutside) {
  write_template(private_key().string());
  const CliResult r = build({"--allow-outside-files"});
  EXPECT_THAT(r.err, Not(HasSubstr("is outside the template's")));
  EXPECT_THAT(r.err, HasSubstr(kInstallerMissing));  // the build went on to install
}

}  // namespace
}  // namespace tests::repo
