// Reproducible across users (docs/reproducible-builds.md): the Debian 12
// sample built by an unprivileged user, in its work directory with its own
// cache, and by root from that build's lockfile, in another directory with
// another cache, gives the same SHA256SUMS: raw image, SBOM, lockfile copy
// and merged template. Where a byte differs, `compare` of the two images
// says which files.
//
// Runs as root only (suite 'root': CI runs it through .ci/root-suite after
// the image suite). The user is the owner of the CLI's build (CI's test
// user), who builds with its image-test cache: the image suite's downloads
// and saved build environment. Root builds from nothing.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/image/image_workspace.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;

constexpr const char* kTemplate = "debian12-x86_64-minimal-raw.yml";
constexpr const char* kProvider = "debian-debian12-x86_64";
constexpr const char* kSystemName = "Minimal_Raw";
constexpr const char* kBase = "debian12-x86_64-minimal-1.0.0";

// The unprivileged user who owns the built CLI.
struct BuildUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  fs::path home;
};

BuildUser owner_of(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + file.string());
  const passwd* pw = ::getpwuid(st.st_uid);
  if (pw == nullptr) throw std::runtime_error(file.string() + " belongs to uid " + std::to_string(st.st_uid) +
                                              ", which has no passwd entry");
  return {pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir};
}

void write_config(const fs::path& dir, const fs::path& cache) {
  std::ofstream(dir / "config.yml") << "cache_dir: " << cache.string() << "\n"
                                    << "work_dir: " << (dir / "work").string() << "\n"
                                    << "temp_dir: " << (dir / "tmp").string() << "\n";
}

// `os-image-composer --config DIR/config.yml ARGS...`, as `user` when given.
TimedRun run_cli(const fs::path& dir, const std::vector<std::string>& args, const BuildUser* user) {
  std::vector<std::string> argv;
  if (user != nullptr) argv = {"/usr/sbin/runuser", "-u", user->name, "--"};
  argv.insert(argv.end(), {cli_path().string(), "--config", (dir / "config.yml").string()});
  argv.insert(argv.end(), args.begin(), args.end());
  const std::map<std::string, std::string> env = {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
                                                  {"HOME", user != nullptr ? user->home.string() : "/root"},
                                                  {"TMPDIR", (dir / "tmp").string()},
                                                  {"LC_ALL", "C"}};
  TimedRun run;
  const auto start = std::chrono::steady_clock::now();
  run.result = run_program(argv, env, dir / "runs");
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

fs::path outputs_of(const fs::path& dir) { return dir / "work" / kProvider / "imagebuild" / kSystemName; }

class TwoUsers : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "builds as root and as the build's owner: runs only as root (CI does)";
    const Preconditions pre = check_preconditions();
    if (!pre.skip.empty()) GTEST_SKIP() << pre.skip;
    ASSERT_TRUE(pre.missing.empty()) << pre.missing;
    user_ = owner_of(cli_path());
    ASSERT_NE(user_.uid, 0u) << cli_path() << " is root's: build as the unprivileged user whose build is compared";
    std::string pattern = (fs::temp_directory_path() / "oic-two-users-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    fs::permissions(root_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    for (const char* side : {"user", "root"}) fs::create_directories(root_ / side / "tmp");
    write_config(root_ / "user", user_.home / ".cache/os-image-composer-tests/oic-cache");
    write_config(root_ / "root", root_ / "root/cache");
    for (const auto& entry : fs::recursive_directory_iterator(root_ / "user")) {
      ASSERT_EQ(::lchown(entry.path().c_str(), user_.uid, user_.gid), 0) << entry.path();
    }
    ASSERT_EQ(::chown((root_ / "user").c_str(), user_.uid, user_.gid), 0);
  }
  void TearDown() override {
    if (root_.empty() || std::getenv("OIC_IMAGE_KEEP") != nullptr) return;
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  BuildUser user_;
  fs::path root_;
};

TEST_F(TwoUsers, TheSampleBuiltByAUserAndByRootFromItsLockfileIsTheSameBytes) {
  const fs::path tpl = source_dir() / "image-templates" / kTemplate;
  const TimedRun by_user = run_cli(root_ / "user", {"build", tpl.string()}, &user_);
  std::cout << "[ image    ] build by " << user_.name << ": " << by_user.seconds << " s\n";
  ASSERT_EQ(by_user.result.exit_code, 0) << by_user.tail();
  const fs::path user_out = outputs_of(root_ / "user");
  // Root reads its own copy of the lockfile, not the user's file.
  fs::copy_file(user_out / (std::string(kBase) + ".lock.json"), root_ / "root/lock.json");

  const TimedRun by_root =
      run_cli(root_ / "root", {"build", tpl.string(), "--lockfile", (root_ / "root/lock.json").string()}, nullptr);
  std::cout << "[ image    ] build by root: " << by_root.seconds << " s\n";
  ASSERT_EQ(by_root.result.exit_code, 0) << by_root.tail();
  const fs::path root_out = outputs_of(root_ / "root");

  const std::string user_sums = read_text(user_out / "SHA256SUMS");
  const std::string root_sums = read_text(root_out / "SHA256SUMS");
  ASSERT_FALSE(user_sums.empty());
  if (user_sums == root_sums) return;
  const std::string raw = std::string(kBase) + ".raw";
  const TimedRun explained = run_cli(
      root_ / "root", {"compare", (user_out / raw).string(), (root_out / raw).string(), "--mode", "diff"}, nullptr);
  ADD_FAILURE() << "the builds by " << user_.name << " and by root differ.\n" << user_.name << ":\n"
                << user_sums << "root:\n" << root_sums << "compare (exit " << explained.result.exit_code
                << "):\n" << explained.tail(80);
}

}  // namespace
}  // namespace tests::image
