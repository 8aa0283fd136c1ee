// `meson install --destdir` of the build tree (INSTALL_BUILD_ROOT), then the
// installed os-image-composer run as a user would run it: from a directory
// outside the source tree, with a clean environment (no OIC_* variables).
// Where things belong (bindir, libexecdir, datadir) comes from meson.
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/run_program.hpp"

namespace {
namespace fs = std::filesystem;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

using Result = tests::support::RunResult;

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> parts;
  std::stringstream in(list);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
  return parts;
}

// Runs `argv` in `cwd` with exactly `env`, stdin from `input`.
Result run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env, const fs::path& cwd,
           const fs::path& input = "/dev/null") {
  return tests::support::run_program(args, env, cwd.parent_path() / "out", input, cwd);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One install for the whole suite: it copies every program and all the data.
class Installed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "oic-install-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "cwd");
    const Result r = run({env_or_empty("INSTALL_MESON"), "install", "--no-rebuild", "--destdir",
                          (root_ / "dest").string(), "-C", env_or_empty("INSTALL_BUILD_ROOT")},
                         {{"PATH", "/usr/bin:/bin"}, {"HOME", (root_ / "home").string()}}, root_ / "cwd");
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void SetUp() override {
    ASSERT_FALSE(env_or_empty("INSTALL_BUILD_ROOT").empty()) << "run by meson test (INSTALL_* from meson)";
    ASSERT_TRUE(fs::is_directory(root_ / "dest")) << "meson install failed";
  }

  // A directory as installed under DESTDIR: dest/<absolute dir>.
  static fs::path staged(const char* var) { return root_ / "dest" / fs::path(env_or_empty(var)).relative_path(); }

  // The installed tool in a clean environment, run outside the source tree.
  static Result tool(const std::vector<std::string>& args, const fs::path& input = "/dev/null") {
    std::vector<std::string> argv = {(staged("INSTALL_BINDIR") / "os-image-composer").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::string home = (root_ / "home").string();
    return run(argv,
               {{"PATH", "/usr/bin:/bin"}, {"HOME", home}, {"XDG_CONFIG_HOME", home + "/.config"},
                {"XDG_CACHE_HOME", home + "/.cache"}, {"XDG_DATA_HOME", home + "/.local/share"}},
               root_ / "cwd", input);
  }

  static inline fs::path root_;
};

TEST_F(Installed, PutsTheToolInBindirAndEveryStageAndLiveInstallerInLibexec) {
  EXPECT_EQ(::access((staged("INSTALL_BINDIR") / "os-image-composer").c_str(), X_OK), 0);
  const fs::path libexec = staged("INSTALL_LIBEXECDIR");
  for (const std::string& stage : split(env_or_empty("INSTALL_STAGES"))) {
    EXPECT_EQ(::access((libexec / ("stage-" + stage)).c_str(), X_OK), 0) << "stage-" << stage << " in " << libexec;
    EXPECT_FALSE(fs::exists(staged("INSTALL_BINDIR") / ("stage-" + stage))) << "stage-" << stage << " in bindir";
  }
  EXPECT_EQ(::access((libexec / "live-installer").c_str(), X_OK), 0) << "live-installer in " << libexec;
}

TEST_F(Installed, PutsEveryOsDataDirectoryAndTemplateInDatadir) {
  const fs::path source = env_or_empty("INSTALL_SOURCE_ROOT");
  const fs::path data = staged("INSTALL_DATADIR");
  std::size_t os_dirs = 0, templates = 0;
  for (const auto& os : fs::directory_iterator(source / "config" / "osv")) {
    for (const auto& dist : fs::directory_iterator(os.path())) {
      ++os_dirs;
      EXPECT_TRUE(fs::is_directory(data / fs::relative(dist.path(), source))) << dist.path();
    }
  }
  for (const auto& file : fs::directory_iterator(source / "image-templates")) {
    ++templates;
    EXPECT_TRUE(fs::is_regular_file(data / "image-templates" / file.path().filename())) << file.path();
  }
  EXPECT_GT(os_dirs, 0u);
  EXPECT_GT(templates, 0u);
}

TEST_F(Installed, ItsDefaultConfigDirIsTheInstalledOsData) {
  const Result r = tool({"config", "show"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path config_dir = staged("INSTALL_DATADIR") / "config";
  EXPECT_TRUE(contains(r.out, "config_dir: " + config_dir.string() + "\n")) << r.out;
  EXPECT_FALSE(contains(r.out, env_or_empty("INSTALL_SOURCE_ROOT"))) << "the source tree leaked in:\n" << r.out;
}

TEST_F(Installed, ValidatesADefaultTemplateMergedOverTheInstalledOsDefault) {
  const fs::path data = staged("INSTALL_DATADIR");
  const Result r = tool({"--verbose", "validate", "--merged",
                         (data / "image-templates" / "debian12-x86_64-minimal-raw.yml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "Merged over OS default '" + (data / "config" / "osv").string())) << r.err;
}

// `stage NAME --shell` locates the stage's program and binds it into the
// sandbox at /run/oic; the shell checks it is there and runnable.
TEST_F(Installed, FindsEveryStageInTheInstalledLibexec) {
  for (const std::string& stage : split(env_or_empty("INSTALL_STAGES"))) {
    const fs::path script = root_ / ("check-" + stage + ".sh");
    std::ofstream(script) << "test -x /run/oic/stage-" << stage << " && echo found stage-" << stage << "\n";
    const Result r = tool({"stage", stage, "--shell", "--single-uid"}, script);
    EXPECT_EQ(r.exit_code, 0) << stage << ":\n" << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "found stage-" + stage)) << stage << ":\n" << r.out << r.err;
  }
}

}  // namespace
