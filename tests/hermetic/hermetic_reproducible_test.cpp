// `build --check-reproducible` on the hermetic repository with every real
// stage: the build, then a second one from the lockfile it published in a
// scratch work directory, every output compared by SHA-256. The template as
// it is gives the same bytes with no SOURCE_DATE_EPOCH set (the build time
// is the lockfile's repository date: docs/reproducible-builds.md), with the
// saved build environment saved then copied, and copied then not; a configuration
// command that writes bytes of /dev/urandom into /etc/oic-random makes the
// check fail naming the disk image and that one file of its root, and the
// second build's outputs are kept where the report says. Every artifact
// format and compression gives the same bytes.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/hermetic/installable_defaults.hpp"
#include "tests/repo/repo_harness.hpp"

namespace tests::hermetic {
namespace {

namespace fs = std::filesystem;
using repo::RepoWorld;

constexpr const char* kReproducible = "The build is reproducible: a second build from the same template and lockfile";
constexpr const char* kProvider = "debian-debian12-x86_64";
// 9 artifacts: with the SBOM, lockfile, merged template and SHA256SUMS 13 outputs.
constexpr const char* kEveryArtifact =
    "  artifacts:\n    - type: raw\n    - type: raw\n      compression: gz\n"
    "    - type: raw\n      compression: xz\n    - type: raw\n      compression: zstd\n"
    "    - type: qcow2\n    - type: vhd\n    - type: vhdx\n    - type: vmdk\n    - type: vdi\n";

class HermeticReproducible : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = std::make_unique<RepoWorld>(std::vector<std::string>{"--installable"},
                                         std::vector<std::string>{"owners"});
    repo::write_file(world_->default_raw_template(), kInstallableDefaults);
    // The same image with one configuration command whose output is random.
    std::string text = std::regex_replace(repo::slurp(world_->template_path()),
                                          std::regex("systemConfig:\n  name: repo-test\n"),
                                          "systemConfig:\n  name: repo-random\n");
    text += "  configurations:\n"
            "    - cmd: \"for i in 1 2 3 4; do IFS= read -r x; printf '%s' \\\"$x\\\"; done </dev/urandom "
            ">/etc/oic-random\"\n";
    repo::write_file(random_template(), text);
    // The same image in every artifact format and compression: the disk
    // section of the defaults with its artifacts list replaced.
    const std::string defaults = kInstallableDefaults;
    const std::size_t disk = defaults.find("disk:\n");
    std::string formats = std::regex_replace(
        repo::slurp(world_->template_path()), std::regex("systemConfig:\n  name: repo-test\n"),
        "systemConfig:\n  name: repo-formats\n");
    formats += std::regex_replace(defaults.substr(disk, defaults.find("systemConfig:") - disk),
                                  std::regex("  artifacts:\n    - type: raw\n"), kEveryArtifact);
    repo::write_file(formats_template(), formats);
  }
  static void TearDownTestSuite() { world_.reset(); }

  static fs::path random_template() { return world_->root() / "random.yml"; }
  static fs::path formats_template() { return world_->root() / "formats.yml"; }
  static fs::path work() { return world_->root() / "work" / kProvider; }
  static std::vector<fs::path> scratch_dirs() {
    std::vector<fs::path> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(work() / "builds", ec)) found.push_back(entry.path());
    return found;
  }
  static std::string both(const repo::CliResult& r) { return r.out + r.err; }

  static inline std::unique_ptr<RepoWorld> world_;
};

TEST_F(HermeticReproducible, TheSameTemplateAndLockfileGiveTheSameOutputsWithTheBuildEnvironmentEitherWay) {
  // Cold: the first build installs and saves the environment, the second copies it.
  const repo::CliResult cold = world_->full_cli({"build", world_->template_path().string(), "--check-reproducible"});
  ASSERT_EQ(cold.exit_code, 0) << cold.out << cold.err;
  EXPECT_NE(cold.out.find(std::string(kReproducible) + " gave the same 5 outputs (SHA-256) as the first, in " +
                          (work() / "imagebuild/repo-test").string() + "\n"),
            std::string::npos)
      << cold.out;
  EXPECT_NE(both(cold).find("Saving build environment"), std::string::npos) << both(cold);
  EXPECT_NE(both(cold).find("Checking reproducibility: building again from " +
                            (work() / "imagebuild/repo-test/repo-test-1.0.0.lock.json").string()),
            std::string::npos)
      << both(cold);
  EXPECT_NE(both(cold).find("Reusing build environment"), std::string::npos) << both(cold);
  EXPECT_NE(both(cold).find(" packages pinned in " +
                            (work() / "imagebuild/repo-test/repo-test-1.0.0.lock.json").string()),
            std::string::npos)
      << both(cold);
  EXPECT_TRUE(scratch_dirs().empty()) << ::testing::PrintToString(scratch_dirs());
  EXPECT_FALSE(fs::exists(work() / "reproducibility-check"));

  // Warm: the first build copies the saved environment, the second installs
  // without it; with --json the verdict is the last line's event.
  const repo::CliResult warm =
      world_->full_cli({"build", world_->template_path().string(), "--check-reproducible", "--rebuild", "--json"});
  ASSERT_EQ(warm.exit_code, 0) << warm.out << warm.err;
  ASSERT_FALSE(warm.out.empty());
  const std::string last = warm.out.substr(warm.out.rfind('\n', warm.out.size() - 2) + 1);
  const nlohmann::json verdict = nlohmann::json::parse(last);
  EXPECT_EQ(verdict.at("event"), "reproducibility-check") << last;
  EXPECT_EQ(verdict.at("reproducible"), true) << last;
  EXPECT_EQ(verdict.at("outputs"), 5) << last;
  EXPECT_TRUE(verdict.at("differences").empty()) << last;
  EXPECT_NE(both(warm).find("Installing without a saved build environment (--check-reproducible)"), std::string::npos)
      << both(warm);
  EXPECT_TRUE(scratch_dirs().empty()) << ::testing::PrintToString(scratch_dirs());
}

// qemu-img writes random identifiers into vhd, vhdx, vmdk and vdi files; the
// disk maker replaces them with derived ones. A file an earlier build left
// in the output directory is not one of this build's outputs.
TEST_F(HermeticReproducible, EveryArtifactFormatAndCompressionIsTheSameBytes) {
  const fs::path out = work() / "imagebuild/repo-formats";
  fs::create_directories(out);
  repo::write_file(out / "repo-test-1.0.0.vhd.old", "an earlier build's");
  const repo::CliResult r = world_->full_cli({"build", formats_template().string(), "--check-reproducible"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(std::string(kReproducible) + " gave the same 13 outputs (SHA-256) as the first, in " +
                       out.string() + "\n"),
            std::string::npos)
      << r.out;
  for (const char* name : {"raw", "raw.gz", "raw.xz", "raw.zstd", "qcow2", "vhd", "vhdx", "vmdk", "vdi"}) {
    EXPECT_TRUE(fs::is_regular_file(out / ("repo-test-1.0.0." + std::string(name)))) << name;
  }
}

TEST_F(HermeticReproducible, ARandomFileMakesTheCheckFailNamingTheImageAndThatFile) {
  const repo::CliResult r = world_->full_cli({"build", random_template().string(), "--check-reproducible"});
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  const fs::path kept = work() / "reproducibility-check/repo-random";
  EXPECT_NE(r.out.find("The build is not reproducible: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(kept in " + kept.string() + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  repo-test-1.0.0.raw: content differs\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  SHA256SUMS: content differs\n"), std::string::npos) << r.out;
  // The one file of the image that differs, and nothing else of its files.
  std::vector<std::string> files;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("    files (")) files.push_back(line);
  }
  ASSERT_EQ(files.size(), 1u) << r.out;
  EXPECT_TRUE(std::regex_search(files[0], std::regex(R"(^    files \(partition 2 [^)]*\): /etc/oic-random: )")))
      << files[0];
  EXPECT_NE(files[0].find("content (sha256 "), std::string::npos) << files[0];
  // The first build's outputs are published; the second's kept beside them.
  EXPECT_TRUE(fs::exists(work() / "imagebuild/repo-random/repo-test-1.0.0.raw"));
  EXPECT_TRUE(fs::exists(kept / "repo-test-1.0.0.raw"));
  EXPECT_TRUE(fs::exists(kept / "SHA256SUMS"));
  EXPECT_TRUE(scratch_dirs().empty()) << ::testing::PrintToString(scratch_dirs());
}

}  // namespace
}  // namespace tests::hermetic
