// The real supervisor builds with planting_stage.cpp swapped in for the
// installer and disk maker: links, a second name and a forged sha256 left in
// the output directory a stage is given must be refused when the outputs are
// published, and nothing outside the workspace may be written or published
// through them (docs/outputs.md).
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "tests/repo/repo_harness.hpp"

namespace tests::adversarial {
namespace {

namespace fs = std::filesystem;
using tests::repo::CliResult;
using tests::repo::RepoWorld;

constexpr const char* kVictims[] = {"victim-sbom", "victim-lock", "victim-template"};

class PlantedFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* planting = std::getenv("OIC_PLANTING_STAGE");
    ASSERT_TRUE(planting != nullptr && *planting != '\0') << "OIC_PLANTING_STAGE is not set (meson sets it)";
    // Copied, not linked, by build(): the sandbox binds the stage binary by path.
    planting_ = planting;
    for (const char* victim : kVictims) tests::repo::write_file(world_.root() / victim, "the user's file\n");
  }

  // A build of the world's template with image.name `trick`, the planting
  // stage standing in for each of `stages`.
  CliResult build(const std::string& trick,
                  const std::vector<std::string>& stages = {"stage-installer", "stage-diskmaker"}) {
    fs::remove_all(stages_);
    fs::create_directories(stages_);
    for (const std::string& stage : stages) fs::copy_file(planting_, stages_ / stage);
    const fs::path tpl = world_.root() / (trick + ".yml");
    const std::string text = tests::repo::slurp(world_.template_path());
    tests::repo::write_file(tpl, std::regex_replace(text, std::regex("image:\n  name: repo-test\n"),
                                                    "image:\n  name: " + trick + "\n"));
    ::setenv("OIC_STAGE_DIR", stages_.c_str(), 1);
    CliResult result = world_.cli({"build", tpl.string()});
    ::unsetenv("OIC_STAGE_DIR");
    return result;
  }

  // Nothing was written through a link, and no output was published.
  void expect_nothing_published(const CliResult& r) {
    for (const char* victim : kVictims) {
      EXPECT_EQ(tests::repo::slurp(world_.root() / victim), "the user's file\n") << victim << " was written";
    }
    const fs::path out = world_.root() / "work/debian-debian12-x86_64/imagebuild/repo-test";
    EXPECT_FALSE(fs::exists(fs::symlink_status(out / "SHA256SUMS"))) << r.out << r.err;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(out, ec)) {
      EXPECT_FALSE(fs::is_symlink(fs::symlink_status(entry.path()))) << "published a link: " << entry.path();
    }
  }

  RepoWorld world_;
  fs::path planting_;
  fs::path stages_ = world_.root() / "planting-stages";
};

TEST_F(PlantedFiles, LinksNamedLikeTheSbomLockfileAndTemplateAreNeitherFollowedNorPublished) {
  const CliResult r = build("planted-links");
  ASSERT_NE((r.out + r.err).find("planted links named like"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("planted-links-1.0.0.spdx.json': it is a symbolic link"), std::string::npos)
      << r.out << r.err;
  expect_nothing_published(r);
}

// The fetcher links InRelease, the key and the indexes to a file of the
// user's: the supervisor refuses to open them instead of handing that file
// to the verifier.
TEST_F(PlantedFiles, LinksAFetcherLeftAreNotFollowed) {
  const CliResult r = build("planted-fetch", {"stage-fetcher"});
  ASSERT_NE((r.out + r.err).find("planted links named like every download"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("Too many levels of symbolic links"), std::string::npos) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("[verify-metadata] started"), std::string::npos) << r.out << r.err;
  expect_nothing_published(r);
}

TEST_F(PlantedFiles, AForgedSha256IsCaughtByTheSupervisorsOwnHash) {
  const CliResult r = build("forged-hash");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("forged-hash-1.0.0.raw': the stage reported sha256 " + std::string(64, 'a') +
                                 ", the file has "),
            std::string::npos)
      << r.out << r.err;
  expect_nothing_published(r);
}

TEST_F(PlantedFiles, AnImageWithASecondNameIsRefused) {
  const CliResult r = build("hard-link");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("hard-link-1.0.0.raw': it has another name (a hard link)"), std::string::npos)
      << r.out << r.err;
  expect_nothing_published(r);
}

}  // namespace
}  // namespace tests::adversarial
