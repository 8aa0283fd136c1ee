// ISO cases that need their own bootstrapped systems, too long for every CI
// run on two cores (suite 'image-extra', run before an ISO change lands;
// docs/development.md): the reference-style eLxr 12 minimal ISO and initrd
// templates (only metadata, image and target) on this machine's Debian
// mirror, and an unattended install whose disk.path the VM does not have.
#include <iostream>
#include <memory>

#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/image/image_workspace.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;

class IsoExtra : public ::testing::Test {
 protected:
  void SetUp() override {
    pre_ = check_preconditions();
    if (!pre_.skip.empty()) GTEST_SKIP() << pre_.skip;
    ASSERT_TRUE(pre_.missing.empty()) << pre_.missing;
  }
  Preconditions pre_;
};

class Elxr12OnTheDebianMirror : public IsoExtra {
 protected:
  void SetUp() override {
    IsoExtra::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    scratch_ = fs::temp_directory_path() / ("oic-elxr-iso-config-" + std::to_string(::getpid()));
    fs::create_directories(scratch_);
    workspace_ = std::make_unique<ImageWorkspace>("oic-elxr-iso", elxr12_config_on_debian_mirror(scratch_));
  }
  void TearDown() override {
    workspace_.reset();
    std::error_code ec;
    if (!scratch_.empty()) fs::remove_all(scratch_, ec);
  }
  ImageOutputs outputs(const std::string& system, const std::string& base) const {
    return {workspace_->output_dir("wind-river-elxr-elxr12-x86_64", system), base};
  }
  fs::path scratch_;
  std::unique_ptr<ImageWorkspace> workspace_;
};

TEST_F(Elxr12OnTheDebianMirror, MinimalInitrdTemplateBuilds) {
  const TimedRun build = workspace_->build(source_dir() / "image-templates/elxr12-x86_64-minimal-initrd.yml");
  std::cout << "[ image    ] build of the elxr12 minimal initrd: " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  const ImageOutputs out = outputs("Default_Initrd", "elxr12-x86_64-minimal-initrd-1.0.0");
  EXPECT_TRUE(fs::is_regular_file(out.file("img"))) << build.tail();
}

TEST_F(Elxr12OnTheDebianMirror, MinimalIsoTemplateBuilds) {
  const TimedRun build = workspace_->build(source_dir() / "image-templates/elxr12-x86_64-minimal-iso.yml");
  std::cout << "[ image    ] build of the elxr12 minimal ISO: " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  const ImageOutputs out = outputs("Default_ISO", "elxr12-x86_64-minimal-iso-1.0.0");
  EXPECT_TRUE(fs::is_regular_file(out.file("iso"))) << build.tail();
}

// The live environment's installer names the missing disk and fails; the
// boot command reports that line and exits non-zero.
TEST_F(IsoExtra, UnattendedInstallOntoADiskTheMachineLacksFailsNamingIt) {
  ImageWorkspace workspace("oic-iso-no-disk");
  const TimedRun build = workspace.build(source_dir() / "tests/image/templates/iso-no-such-disk.yml");
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  const ImageOutputs out{workspace.output_dir("debian-debian12-x86_64", "No_Such_Disk_ISO"), "oic-iso-no-disk-1.0.0"};
  const TimedRun install =
      workspace.cli({"boot", out.file("iso").string(), "--install", "--disk", "3", "--timeout", "600", "--install-timeout", "1500"});
  std::cout << "[ image    ] install onto a missing disk: " << install.seconds << " s\n";
  EXPECT_NE(install.result.exit_code, 0);
  EXPECT_NE(install.output().find("installation failed"), std::string::npos) << install.tail(60);
  EXPECT_NE(install.output().find("/dev/vdz"), std::string::npos) << install.tail(60);
}

}  // namespace
}  // namespace tests::image
