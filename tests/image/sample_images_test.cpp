// The sample templates a user starts from build and boot: the Debian 12
// minimal raw image as shipped, and the eLxr 12 minimal raw image with its
// repository swapped for this machine's Debian mirror (eLxr 12 is built on
// Debian 12, and the eLxr mirror is not reachable from CI). Each boots under
// QEMU (TCG, OVMF) until the serial console shows a login prompt.
#include <fstream>
#include <iostream>
#include <memory>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tests/image/image_workspace.hpp"
#include "tests/live/live_support.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;

constexpr int kBootTimeoutSeconds = 300;

std::string listing(const fs::path& dir) {
  if (!fs::exists(dir)) return "  (" + dir.string() + " does not exist)\n";
  std::string out;
  for (const auto& entry : fs::directory_iterator(dir)) out += "  " + entry.path().filename().string() + "\n";
  return out;
}

class SampleImages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_ = skip_reason();
    if (!skip_.empty()) return;
    missing_ = missing_prerequisites();
    if (missing_.empty()) workspace_ = std::make_unique<ImageWorkspace>("oic-samples");
  }
  static void TearDownTestSuite() { workspace_.reset(); }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_TRUE(missing_.empty()) << missing_;
  }

  // Builds `tpl`, expects `image` among the outputs and boots it to login.
  static void build_and_boot(const fs::path& tpl, const ImageOutputs& outputs, const fs::path& image) {
    const TimedRun build = workspace_->build(tpl);
    std::cout << "[ image    ] build of " << tpl.filename() << ": " << build.seconds << " s\n";
    ASSERT_EQ(build.result.exit_code, 0) << build.tail();
    ASSERT_TRUE(fs::is_regular_file(image)) << image << " is missing; the output dir holds:\n" << listing(outputs.dir);
    EXPECT_TRUE(fs::is_regular_file(outputs.sums())) << listing(outputs.dir);
    const TimedRun boot = workspace_->boot_check(image, kBootTimeoutSeconds);
    std::cout << "[ image    ] boot of " << image.filename() << " to login: " << boot.seconds << " s\n";
    EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
  }

  static inline std::string skip_;
  static inline std::string missing_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
};

TEST_F(SampleImages, Debian12MinimalRawBuildsAndBootsToLogin) {
  const ImageOutputs outputs{workspace_->output_dir("debian-debian12-x86_64", "Minimal_Raw"),
                             "debian12-x86_64-minimal-1.0.0"};
  build_and_boot(source_dir() / "image-templates/debian12-x86_64-minimal-raw.yml", outputs, outputs.raw());
}

// The eLxr sample with packageRepositories naming the Debian mirror of this
// machine's apt sources (bookworm main), signed by the Debian archive keyring.
fs::path elxr12_on_debian_mirror(const fs::path& dir) {
  const std::vector<config::AptSource> sources = tests::live::bookworm_sources();
  YAML::Node doc = YAML::LoadFile((source_dir() / "image-templates/elxr12-x86_64-minimal-raw.yml").string());
  YAML::Node repo;
  repo["codename"] = "bookworm";
  repo["url"] = sources.front().uri;
  repo["component"] = "main";
  repo["pkey"] = "/usr/share/keyrings/debian-archive-keyring.gpg";
  YAML::Node repos(YAML::NodeType::Sequence);
  repos.push_back(repo);
  doc["packageRepositories"] = repos;
  const fs::path path = dir / "elxr12-on-debian-mirror.yml";
  YAML::Emitter out;
  out << doc;
  std::ofstream(path) << out.c_str() << "\n";
  return path;
}

TEST_F(SampleImages, Elxr12MinimalRawOnTheDebianMirrorBuildsAndBootsToLogin) {
  const ImageOutputs outputs{workspace_->output_dir("wind-river-elxr-elxr12-x86_64", "Minimal_Raw"),
                             "elxr12-x86_64-minimal-1.0.0"};
  // The sample asks for a gzip-compressed raw image and a qcow2: boot the qcow2.
  build_and_boot(elxr12_on_debian_mirror(workspace_->root()), outputs, outputs.file("qcow2"));
  EXPECT_TRUE(fs::is_regular_file(outputs.file("raw.gz"))) << listing(outputs.dir);
}

}  // namespace
}  // namespace tests::image
