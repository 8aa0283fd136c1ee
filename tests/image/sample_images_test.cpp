// The sample template a user starts from builds and boots: the Debian 12
// minimal raw image as shipped boots under QEMU (TCG, OVMF) until the serial
// console shows a login prompt (the eLxr 12 sample: elxr_sample_test.cpp).
//
// Then the tool as `meson install --destdir` puts it, run with no source
// tree: it builds the default template from its datadir into the same
// package cache, reuses the build environment the source-tree build saved
// and locks the same packages.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/image/image_workspace.hpp"
#include "tests/live/live_support.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;

constexpr int kBootTimeoutSeconds = 300;
constexpr const char* kDebian12Provider = "debian-debian12-x86_64";
constexpr const char* kDefaultTemplate = "debian12-x86_64-minimal-raw.yml";

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string listing(const fs::path& dir) {
  if (!fs::exists(dir)) return "  (" + dir.string() + " does not exist)\n";
  std::string out;
  for (const auto& entry : fs::directory_iterator(dir)) out += "  " + entry.path().filename().string() + "\n";
  return out;
}

// The tool as `meson install --destdir ROOT/dest` puts it (INSTALL_* from meson).
fs::path staged(const fs::path& root, const char* var) {
  return root / "dest" / fs::path(env_or_empty(var)).relative_path();
}

RunResult meson_install(const fs::path& root) {
  return run_program({env_or_empty("INSTALL_MESON"), "install", "--no-rebuild", "--quiet", "--destdir",
                      (root / "dest").string(), "-C", env_or_empty("INSTALL_BUILD_ROOT")},
                     {{"PATH", "/usr/bin:/bin"}, {"HOME", (root / "home").string()}}, root / "runs/install");
}

// `build TEMPLATE` by the installed tool as a user runs it: a clean
// environment (no OIC_* variables), its global config in ~/.config naming
// the tests' package cache and its own work dir and nothing else (so its
// config_dir is the installed OS data), a working directory outside the
// source tree.
TimedRun installed_build(const fs::path& root, const fs::path& image_template) {
  const fs::path home = root / "home";
  fs::create_directories(home / ".config/os-image-composer");
  fs::create_directories(root / "cwd");
  fs::create_directories(root / "tmp");
  std::ofstream(home / ".config/os-image-composer/config.yml")
      << "cache_dir: " << (tests::live::persistent_cache_dir() / "oic-cache").string() << "\n"
      << "work_dir: " << (root / "work").string() << "\n";
  const std::map<std::string, std::string> env = {
      {"PATH", "/usr/bin:/bin"}, {"HOME", home.string()}, {"LC_ALL", "C"}, {"TMPDIR", (root / "tmp").string()}};
  TimedRun run;
  const auto start = std::chrono::steady_clock::now();
  run.result = run_program({(staged(root, "INSTALL_BINDIR") / "os-image-composer").string(), "build",
                            image_template.string()},
                           env, root / "runs/build", "/dev/null", root / "cwd");
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
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
    const TimedRun& build = default_build_ = workspace_->build(tpl);
    std::cout << "[ image    ] build of " << tpl.filename() << ": " << build.seconds << " s\n";
    ASSERT_EQ(build.result.exit_code, 0) << build.tail();
    ASSERT_TRUE(fs::is_regular_file(image)) << image << " is missing; the output dir holds:\n" << listing(outputs.dir);
    EXPECT_TRUE(fs::is_regular_file(outputs.sums())) << listing(outputs.dir);
    const TimedRun boot = workspace_->boot_check(image, kBootTimeoutSeconds);
    std::cout << "[ image    ] boot of " << image.filename() << " to login: " << boot.seconds << " s\n";
    EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
  }

  static ImageOutputs debian12_outputs() {
    return {workspace_->output_dir(kDebian12Provider, "Minimal_Raw"), "debian12-x86_64-minimal-1.0.0"};
  }

  static inline Preconditions pre_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
  static inline TimedRun default_build_;
};

TEST_F(SampleImages, Debian12MinimalRawBuildsAndBootsToLogin) {
  const ImageOutputs outputs = debian12_outputs();
  build_and_boot(source_dir() / "image-templates" / kDefaultTemplate, outputs, outputs.raw());
}

// The installed tool builds the default template from its datadir. Runs
// after the test above (definition order), whose image, lock, SBOM and build
// environment it is compared with: that image is the one booted, this one
// has the same packages and comes from the same saved build environment.
TEST_F(SampleImages, InstalledToolBuildsTheDefaultImageWithNoSourceTreeFromTheSavedBuildEnvironment) {
  ASSERT_FALSE(env_or_empty("INSTALL_BUILD_ROOT").empty()) << "run by meson test (INSTALL_* from meson)";
  const ImageOutputs source_built = debian12_outputs();
  ASSERT_TRUE(fs::is_regular_file(source_built.lock())) << "the source-tree build of the default image failed";
  const std::string saved_key = logged_build_env_key(default_build_.output());
  ASSERT_FALSE(saved_key.empty()) << "the source-tree build names no build environment: " << default_build_.tail();

  const fs::path root = workspace_->root() / "installed";
  const RunResult install = meson_install(root);
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
  const fs::path tpl = staged(root, "INSTALL_DATADIR") / "image-templates" / kDefaultTemplate;
  const TimedRun build = installed_build(root, tpl);
  std::cout << "[ image    ] build of " << kDefaultTemplate << " by the installed tool: " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  EXPECT_EQ(build.output().find(source_dir().string()), std::string::npos)
      << "the installed tool named the source tree:\n" << build.tail(200);
  EXPECT_EQ(logged_build_env_key(build.output(), kReusingBuildEnv), saved_key)
      << "the installed tool did not reuse the build environment of the source-tree build: " << build.tail();

  const ImageOutputs installed{root / "work" / kDebian12Provider / "imagebuild/Minimal_Raw", source_built.base};
  for (const fs::path& file : {installed.raw(), installed.lock(), installed.sbom(), installed.sums()}) {
    ASSERT_TRUE(fs::is_regular_file(file)) << file << " is missing; the output dir holds:\n" << listing(installed.dir);
  }
  EXPECT_EQ(fs::file_size(installed.raw()), fs::file_size(source_built.raw()));
  const nlohmann::json lock = nlohmann::json::parse(read_text(installed.lock()));
  const nlohmann::json source_lock = nlohmann::json::parse(read_text(source_built.lock()));
  EXPECT_EQ(lock.at("repositories"), source_lock.at("repositories"));
  ASSERT_EQ(lock.at("packages"), source_lock.at("packages")) << "the installed tool locked other packages";
  // The SBOM describes the installed tree: the same packages, licences and sources.
  const nlohmann::json sbom = nlohmann::json::parse(read_text(installed.sbom()));
  const nlohmann::json source_sbom = nlohmann::json::parse(read_text(source_built.sbom()));
  EXPECT_EQ(sbom.at("packages"), source_sbom.at("packages"));
  EXPECT_EQ(sbom.at("documentNamespace"), source_sbom.at("documentNamespace"));
}

}  // namespace
}  // namespace tests::image
