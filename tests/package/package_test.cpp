// The Debian package: `dpkg-buildpackage -b -uc -us` of a copy of the source
// tree (the files CI builds: git's tracked and untracked-but-not-ignored
// files, or the tree without build directories when it is no git work tree),
// the .deb's file list and fields, then the package installed with its
// dependencies into a clean bookworm (mmdebstrap --mode=unshare from this
// machine's apt sources) where the installed tool runs `version`,
// `config show` and `validate --merged` of an installed template.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/apt_sources.hpp"
#include "tests/support/run_program.hpp"
#include "tests/support/temp_dir.hpp"

namespace {
namespace fs = std::filesystem;
using tests::support::RunResult;

// What debian/rules installs where (prefix /usr, meson's default libexecdir).
constexpr const char* kBin = "usr/bin/os-image-composer";
constexpr const char* kLibexec = "usr/libexec/os-image-composer";
constexpr const char* kData = "usr/share/os-image-composer";
constexpr const char* kTemplate = "image-templates/debian12-x86_64-minimal-raw.yml";

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, separator);) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The last `lines` lines of a long output (a package build prints thousands).
std::string tail(const std::string& text, std::size_t lines = 60) {
  std::size_t pos = text.size();
  for (std::size_t n = 0; n <= lines && pos != std::string::npos && pos > 0; ++n) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

std::map<std::string, std::string> base_env(const fs::path& home) {
  return {{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"}, {"HOME", home.string()}, {"LC_ALL", "C.UTF-8"}};
}

// Source files relative to `root`, as CI copies them (.ci/run), or from a
// walk that leaves out .git and meson build directories when git has none.
std::vector<fs::path> source_files(const fs::path& root, const fs::path& scratch) {
  if (fs::exists(root / ".git")) {
    // safe.directory: the test user need not own the checkout.
    const RunResult r = tests::support::run_program(
        {"/usr/bin/git", "-c", "safe.directory=*", "-C", root.string(), "ls-files", "-z", "--cached", "--others",
         "--exclude-standard"},
        base_env(scratch), scratch / "git");
    if (r.exit_code != 0) throw std::runtime_error("git ls-files in " + root.string() + " failed: " + r.err);
    std::vector<fs::path> files;
    for (const std::string& name : split(r.out, '\0')) files.emplace_back(name);
    return files;
  }
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& p = it->path();
    if (it->is_directory() && !it->is_symlink() &&
        (p.filename() == ".git" || fs::exists(p / "meson-private") || p == root / "debian" / "os-image-composer" ||
         p == root / "debian" / ".debhelper" || p == root / "debian" / "tmp")) {
      it.disable_recursion_pending();
    } else if (!it->is_directory() || it->is_symlink()) {
      files.push_back(fs::relative(p, root));
    }
  }
  return files;
}

void copy_source_tree(const fs::path& from, const fs::path& to, const fs::path& scratch) {
  for (const fs::path& relative : source_files(from, scratch)) {
    const fs::path source = from / relative;
    const fs::file_status status = fs::symlink_status(source);
    if (!fs::exists(status)) continue;  // tracked but deleted in the work tree
    fs::create_directories((to / relative).parent_path());
    if (fs::is_symlink(status)) {
      fs::copy_symlink(source, to / relative);
    } else {
      fs::copy_file(source, to / relative);
    }
  }
}

// The paths in the .deb's data, without the leading "./".
std::set<std::string> deb_paths(const std::string& contents) {
  std::set<std::string> paths;
  for (const std::string& line : split(contents, '\n')) {
    const auto dot = line.find(" ./");
    if (dot == std::string::npos) continue;
    std::string path = line.substr(dot + 3);
    if (const auto arrow = path.find(" -> "); arrow != std::string::npos) path.resize(arrow);
    if (!path.empty() && path.back() == '/') path.pop_back();
    paths.insert(path);
  }
  return paths;
}

fs::path tests_cache_dir() {
  if (const std::string dir = env_or_empty("OIC_LIVE_CACHE_DIR"); !dir.empty()) return dir;
  if (const std::string xdg = env_or_empty("XDG_CACHE_HOME"); !xdg.empty()) return fs::path(xdg) / "os-image-composer-tests";
  if (const std::string home = env_or_empty("HOME"); !home.empty()) return fs::path(home) / ".cache/os-image-composer-tests";
  return fs::temp_directory_path() / "os-image-composer-tests";
}

// One package build for the whole binary: it compiles the whole tree.
class Package : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new tests::TempDir("oic-package");
    // mmdebstrap's unshared root (a subordinate uid) reads the .deb here.
    fs::permissions(dir_->path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                      fs::perms::others_read | fs::perms::others_exec);
    const fs::path src = dir_->path() / "os-image-composer";
    copy_source_tree(env_or_empty("PACKAGE_SOURCE_ROOT"), src, dir_->path() / "scratch");
    std::map<std::string, std::string> env = base_env(dir_->path() / "home");
    // nocheck: the package does not run the suites (debian/rules says why);
    // noddebs and no -g: this test has no use for debug symbols, and the
    // compiler is 1.2-1.7 times slower with them.
    env["DEB_BUILD_OPTIONS"] = "nocheck noddebs parallel=" + std::to_string(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
    env["DEB_CXXFLAGS_STRIP"] = "-g";
    build_ = tests::support::run_program({"/usr/bin/dpkg-buildpackage", "-b", "-uc", "-us"}, env,
                                         dir_->path() / "build-log", "/dev/null", src);
    for (const auto& entry : fs::directory_iterator(dir_->path())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("os-image-composer_", 0) == 0 && entry.path().extension() == ".deb") deb_ = entry.path();
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(env_or_empty("PACKAGE_SOURCE_ROOT").empty()) << "run by meson test (PACKAGE_* from meson)";
    ASSERT_EQ(build_.exit_code, 0) << "dpkg-buildpackage -b -uc -us failed (the build dependencies are in "
                                      ".ci/packages; `bash .ci/install-deps` installs them):\n"
                                   << tail(build_.out) << tail(build_.err);
    ASSERT_FALSE(deb_.empty()) << "dpkg-buildpackage left no os-image-composer_*.deb in " << dir_->path();
  }

  static RunResult run(const std::vector<std::string>& argv, const std::string& scratch) {
    return tests::support::run_program(argv, base_env(dir_->path() / "home"), dir_->path() / scratch);
  }

  static inline tests::TempDir* dir_ = nullptr;
  static inline RunResult build_;
  static inline fs::path deb_;
};

TEST_F(Package, HoldsTheToolEveryStageAndTheData) {
  const RunResult r = run({"/usr/bin/dpkg-deb", "--contents", deb_.string()}, "contents");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::set<std::string> paths = deb_paths(r.out);
  EXPECT_TRUE(paths.count(kBin)) << r.out;
  for (const std::string& stage : split(env_or_empty("PACKAGE_STAGES"), ',')) {
    EXPECT_TRUE(paths.count(std::string(kLibexec) + "/stage-" + stage)) << "stage-" << stage << " in " << kLibexec;
    EXPECT_FALSE(paths.count("usr/bin/stage-" + stage)) << "stage-" << stage << " in usr/bin";
  }
  EXPECT_TRUE(paths.count(std::string(kLibexec) + "/live-installer"));
  EXPECT_TRUE(paths.count(std::string(kData) + "/" + kTemplate));
  const fs::path source = env_or_empty("PACKAGE_SOURCE_ROOT");
  for (const auto& os : fs::directory_iterator(source / "config" / "osv")) {
    for (const auto& dist : fs::directory_iterator(os.path())) {
      const std::string want = std::string(kData) + "/" + fs::relative(dist.path(), source).string();
      EXPECT_TRUE(paths.count(want)) << want;
    }
  }
  for (const std::string& path : paths) {
    EXPECT_EQ(path.find("tests/"), std::string::npos) << "a test file is packaged: " << path;
  }
}

TEST_F(Package, ItsVersionIsTheProjectsAndItDependsOnWhatABuildRuns) {
  const RunResult r = run({"/usr/bin/dpkg-deb", "--field", deb_.string(), "Package", "Version", "Depends"}, "fields");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Package: os-image-composer\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "Version: " + env_or_empty("PACKAGE_VERSION") + "\n")) << r.out;
  for (const char* dependency : {"uidmap", "gnupg", "fdisk", "e2fsprogs", "dosfstools", "mtools", "libc6"}) {
    EXPECT_TRUE(contains(r.out, std::string(" ") + dependency)) << dependency << " not in\n" << r.out;
  }
}

// Run by mmdebstrap in the finished chroot ($1): the package's state and the
// installed tool's output land in $1/tmp/oic-report; any failure prints the
// command's output and fails the bootstrap.
constexpr const char* kCheckHook = R"sh(set -eu
root=$1
report=$root/tmp/oic-report
mkdir -p "$report"
chroot "$root" dpkg-query -W -f '${Status} ${Version}' os-image-composer >"$report/status"
run() {
  name=$1; shift
  if ! chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
      /usr/bin/os-image-composer "$@" >"$report/$name.out" 2>"$report/$name.err"; then
    echo "installed os-image-composer $* failed in the chroot:" >&2
    cat "$report/$name.out" "$report/$name.err" >&2
    exit 1
  fi
}
run version version
run config-show config show
run validate --verbose validate --merged /usr/share/os-image-composer/image-templates/debian12-x86_64-minimal-raw.yml
)sh";

bool can_map_subordinate_range(const fs::path& scratch) {
  if (::access("/usr/bin/newuidmap", X_OK) != 0) return false;
  return tests::support::run_program({"/usr/bin/unshare", "--user", "--map-auto", "--map-root-user", "/bin/true"},
                                     base_env(scratch), scratch)
             .exit_code == 0;
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

TEST_F(Package, InstallsWithItsDependenciesAndRunsOnACleanBookworm) {
  const std::optional<config::AptSource> bookworm = config::find_debian_source(config::read_apt_sources(), "bookworm");
  if (!bookworm) GTEST_SKIP() << "no bookworm main source in /etc/apt";
  if (!can_map_subordinate_range(dir_->path() / "unshare")) {
    GTEST_SKIP() << "no subordinate id range for this user (mmdebstrap --mode=unshare needs one)";
  }
  // The mirror's packages are kept across runs (the deb built here is not).
  const fs::path cache = tests_cache_dir() / "package-apt-archives";
  fs::create_directories(cache);
  const fs::path report = dir_->path() / "report";
  fs::create_directories(report);
  // The sources file itself is the mirror argument: its address is read by
  // mmdebstrap at run time, never written here.
  const RunResult r = run(
      {"/usr/bin/mmdebstrap", "--mode=unshare", "--variant=apt", "--include=" + deb_.string(),
       "--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount", "--skip=essential/unlink",
       "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives",
       "--setup-hook=sync-in " + quoted(cache) + " /var/cache/apt/archives/",
       "--customize-hook=sync-out /var/cache/apt/archives " + quoted(cache),
       "--customize-hook=" + std::string(kCheckHook), "--customize-hook=sync-out /tmp/oic-report " + quoted(report),
       "bookworm", "/dev/null",
       bookworm->file.string()},
      "mmdebstrap");
  for (const auto& entry : fs::directory_iterator(cache)) {
    if (entry.path().filename().string().rfind("os-image-composer_", 0) == 0) fs::remove(entry.path());
  }
  ASSERT_EQ(r.exit_code, 0) << "mmdebstrap with the package failed:\n" << tail(r.out) << tail(r.err);

  const tests::TempDir& dir = *dir_;
  EXPECT_EQ(dir.read("report/status"), "install ok installed " + env_or_empty("PACKAGE_VERSION"));
  EXPECT_TRUE(contains(dir.read("report/version.out"), env_or_empty("PACKAGE_VERSION"))) << dir.read("report/version.out");
  EXPECT_TRUE(contains(dir.read("report/config-show.out"), "config_dir: /" + std::string(kData) + "/config\n"))
      << dir.read("report/config-show.out");
  EXPECT_TRUE(contains(dir.read("report/validate.err"), "Merged over OS default '/" + std::string(kData) + "/config/osv"))
      << dir.read("report/validate.err");
}

}  // namespace
