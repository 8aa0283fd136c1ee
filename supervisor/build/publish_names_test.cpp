// build --output-names: the names publish_image_outputs gives a build's files,
// and hand_back_outputs not handing back files named by the other scheme.
#include <stdlib.h>

#include <algorithm>
#include <cstdio>

#include <gtest/gtest.h>

#include "supervisor/build/build_steps.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ::tests::TempDir;

class PublishNames : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("SOURCE_DATE_EPOCH", "1767323045", 1);  // 2026-01-02 03:04:05 UTC
    request_.image.image = config::Image{.name = "demo", .version = "1.0"};
    request_.image.system_config = config::SystemConfig{};
    request_.image.system_config->name = "Default_Raw";
    request_.global.work_dir = dir_.path() / "work";
    provider_.id = "debian-debian12-x86_64";
    provider_.release_version = "12";
    provider_.package_type = config::PackageType::kDeb;
    digest_ = digest_image_inputs({.provider_id = provider_.id, .merged_template = "t", .lockfile = "l",
                                   .host_files = {}, .programs = {}});
  }
  void TearDown() override { ::unsetenv("SOURCE_DATE_EPOCH"); }

  // Publishes a disk and an SBOM as the stages name them.
  std::vector<std::string> publish(OutputNaming naming, const Lockfile& lock = {}) {
    request_.output_names = naming;
    const fs::path out = dir_.path() / "stage-out";
    std::vector<OutputFile> files = {{dir_.write("stage-out/demo-1.0.raw", "disk"), "demo-1.0.raw", ""}};
    const fs::path sbom = dir_.write("stage-out/demo-1.0.spdx.json", "{}");
    std::vector<std::string> names;
    for (const PublishedFile& f : publish_image_outputs(request_, provider_, files, sbom, lock, digest_, log_)) {
      names.push_back(f.path.filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  bool handed_back(OutputNaming naming) {
    request_.output_names = naming;
    std::FILE* sink = std::tmpfile();
    ProgressReporter progress(ProgressMode::kPlain, sink);
    const fs::path dir = image_output_dir(request_.global.work_dir, provider_.id, "Default_Raw");
    const bool result = hand_back_outputs(request_, provider_, dir, Lockfile{}, digest_, progress, log_, [] {});
    std::fclose(sink);
    return result;
  }

  TempDir dir_{"oic-publish-names"};
  BuildRequest request_;
  config::ProviderData provider_;
  InputDigest digest_;
  Logger log_{LogLevel::kError};
};

TEST_F(PublishNames, OwnNamesByDefault) {
  EXPECT_EQ(publish(OutputNaming::kOwn),
            (std::vector<std::string>{"demo-1.0.lock.json", "demo-1.0.raw", "demo-1.0.spdx.json", "demo-1.0.template.yml"}));
  EXPECT_TRUE(handed_back(OutputNaming::kOwn));
  EXPECT_FALSE(handed_back(OutputNaming::kReference));
}

TEST_F(PublishNames, ReferenceNamesWithTheOsVersionAndSpdxManifest) {
  EXPECT_EQ(publish(OutputNaming::kReference),
            (std::vector<std::string>{"demo-12.lock.json", "demo-12.raw", "demo-12.template.yml",
                                      "spdx_manifest_deb_demo_20260102_030405.json"}));
  EXPECT_TRUE(handed_back(OutputNaming::kReference));
  EXPECT_FALSE(handed_back(OutputNaming::kOwn));
}

// With no SOURCE_DATE_EPOCH the SBOM's name has the build's time, the
// lockfile's newest repository date: the same lockfile, the same name.
TEST_F(PublishNames, ReferenceSbomNameHasTheLockfilesTimeWithoutSourceDateEpoch) {
  ::unsetenv("SOURCE_DATE_EPOCH");
  Lockfile lock;
  lock.repositories = {{.name = "main", .url = "http://127.0.0.1/debian", .signer_fingerprint = "", .deb = {},
                        .date = 1767323045}};
  EXPECT_EQ(publish(OutputNaming::kReference, lock),
            (std::vector<std::string>{"demo-12.lock.json", "demo-12.raw", "demo-12.template.yml",
                                      "spdx_manifest_deb_demo_20260102_030405.json"}));
}

}  // namespace
}  // namespace supervisor
