// The sample templates a user starts from build and boot: the Debian 12
// minimal raw image as shipped, and the eLxr 12 minimal raw image with its
// repository swapped for this machine's Debian mirror (eLxr 12 is built on
// Debian 12, and the eLxr mirror is not reachable from CI). Each boots under
// QEMU (TCG, OVMF) until the serial console shows a login prompt.
#include <fstream>
#include <iostream>
#include <memory>

#include <unistd.h>

#include <gtest/gtest.h>

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
    pre_ = check_preconditions();
    if (pre_.met()) workspace_ = std::make_unique<ImageWorkspace>("oic-samples");
  }
  static void TearDownTestSuite() { workspace_.reset(); }

  void SetUp() override {
    if (!pre_.skip.empty()) GTEST_SKIP() << pre_.skip;
    ASSERT_TRUE(pre_.missing.empty()) << pre_.missing;
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

  static inline Preconditions pre_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
};

TEST_F(SampleImages, Debian12MinimalRawBuildsAndBootsToLogin) {
  const ImageOutputs outputs{workspace_->output_dir("debian-debian12-x86_64", "Minimal_Raw"),
                             "debian12-x86_64-minimal-1.0.0"};
  build_and_boot(source_dir() / "image-templates/debian12-x86_64-minimal-raw.yml", outputs, outputs.raw());
}

TEST(SampleImagesElxr, Elxr12MinimalRawOnTheDebianMirrorBuildsAndBootsToLogin) {
  const Preconditions pre = check_preconditions();
  if (!pre.skip.empty()) GTEST_SKIP() << pre.skip;
  ASSERT_TRUE(pre.missing.empty()) << pre.missing;
  const fs::path scratch = fs::temp_directory_path() / ("oic-elxr-config-" + std::to_string(::getpid()));
  fs::create_directories(scratch);
  ImageWorkspace workspace("oic-elxr", elxr12_config_on_debian_mirror(scratch));
  const ImageOutputs outputs{workspace.output_dir("wind-river-elxr-elxr12-x86_64", "Minimal_Raw"),
                             "elxr12-x86_64-minimal-1.0.0"};
  const TimedRun build = workspace.build(source_dir() / "image-templates/elxr12-x86_64-minimal-raw.yml");
  std::cout << "[ image    ] build of the elxr12 sample: " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  // The sample asks for a gzip-compressed raw image and a qcow2: boot the qcow2.
  const fs::path image = outputs.file("qcow2");
  ASSERT_TRUE(fs::is_regular_file(image)) << listing(outputs.dir);
  EXPECT_TRUE(fs::is_regular_file(outputs.file("raw.gz"))) << listing(outputs.dir);
  const TimedRun boot = workspace.boot_check(image, kBootTimeoutSeconds);
  std::cout << "[ image    ] boot of the elxr12 qcow2 to login: " << boot.seconds << " s\n";
  EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
  std::error_code ec;
  fs::remove_all(scratch, ec);
}

}  // namespace
}  // namespace tests::image
