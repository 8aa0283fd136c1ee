// Against the Debian mirror of this machine's apt sources: the lock of a
// Debian 12 image must be the package set apt itself would install for the
// same request, and a build from that lock must download and verify every
// package against the real InRelease and the Debian archive keyring.
// Skips when the machine has no bookworm source. Downloads are kept in
// persistent_cache_dir() so reruns are fast.
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "tests/live/live_support.hpp"

namespace tests::live {
namespace {
namespace fs = std::filesystem;

const char* env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

const fs::path kCli = env_or_empty("OIC_CLI");
const fs::path kSource = env_or_empty("OIC_SOURCE_DIR");

// The image's own packages; the provider's defaults (systemd, grub, ...) and
// its essential list are merged in by the tool. The same set as
// tests/image/templates/debian12-checks.yml's: the build below reuses the
// build environment an image test saved (or saves it for them).
const char* const kTemplate = R"(image:
  name: live-debian12
  version: "1.0.0"
target:
  os: debian
  dist: debian12
  arch: x86_64
  imageType: raw
systemConfig:
  name: live-debian12
  packages:
    - sudo
    - less
    - iputils-ping
    - openssh-server
    - systemd-boot-efi
    - dracut-core
    - cryptsetup-bin
    - shim-unsigned
)";

// Where the lock and apt may legitimately disagree: package name -> why.
// Empty: for this request the two choose the same packages and versions.
// An entry that no longer differs fails the test too, so the list stays true.
const std::map<std::string, std::string> kAllowedDifferences = {};

constexpr const char* kBuildCompleted = "Image build completed successfully";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> yaml_strings(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node && node.IsSequence()) {
    for (const YAML::Node& item : node) out.push_back(item.as<std::string>());
  }
  return out;
}

class LiveDebian12 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sources_ = bookworm_sources();
    if (sources_.empty()) return;
    std::string pattern = (fs::temp_directory_path() / "oic-live-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    cache_ = persistent_cache_dir();
    fs::create_directories(cache_);
    std::ofstream(root_ / "live.yml") << kTemplate;
    std::ofstream(root_ / "config.yml")
        << "workers: 8\n"
        << "cache_dir: " << (cache_ / "oic-cache").string() << "\n"
        << "work_dir: " << (root_ / "work").string() << "\n"
        << "temp_dir: " << (root_ / "tmp").string() << "\n";
    fs::create_directories(root_ / "tmp");
  }

  static void TearDownTestSuite() {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  void SetUp() override {
    if (sources_.empty()) GTEST_SKIP() << "no bookworm main source in /etc/apt";
    ASSERT_FALSE(kCli.empty()) << "OIC_CLI must name the built os-image-composer";
    for (const char* stage : {"fetcher", "verifier", "resolver"}) {
      const fs::path exe = kCli.parent_path() / ".." / "stages" / stage / ("stage-" + std::string(stage));
      ASSERT_TRUE(fs::exists(exe)) << exe << " is missing: build the stage executables first";
    }
  }

  static RunResult cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {kCli.string(), "--config", (root_ / "config.yml").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const std::map<std::string, std::string> env = {
        {"PATH", "/usr/bin:/bin"},
        {"HOME", (root_ / "home").string()},
        {"XDG_CONFIG_HOME", (root_ / "home/.config").string()},
        {"TMPDIR", (root_ / "tmp").string()},
        {"LC_ALL", "C"},
    };
    return run_program(argv, env, root_ / "cli");
  }

  // The lock of the template, made once and shared by the tests.
  static const nlohmann::json& lock() {
    if (lock_.is_null()) {
      const RunResult r = cli({"lock", (root_ / "live.yml").string(), "-o", lock_path().string()});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      if (r.exit_code == 0) lock_ = nlohmann::json::parse(read_text(lock_path()));
    }
    return lock_;
  }

  static fs::path lock_path() { return root_ / "lock.json"; }

  // What the lock was asked for: the provider's essential list, then the
  // merged template's system and kernel packages (the tool's own merge, shown
  // by `validate --merged`).
  static std::vector<std::string> requested_names() {
    std::vector<std::string> names = yaml_strings(YAML::LoadFile(
        (kSource / "config/osv/debian/debian12/chrootenvconfigs/chrootenv_x86_64.yml").string())["essential"]);
    const RunResult r = cli({"validate", "--merged", (root_ / "live.yml").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const YAML::Node merged = YAML::Load(r.out)["systemConfig"];
    for (const std::string& name : yaml_strings(merged["packages"])) names.push_back(name);
    for (const std::string& name : yaml_strings(merged["kernel"]["packages"])) names.push_back(name);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

  static inline std::vector<config::AptSource> sources_;
  static inline fs::path root_;
  static inline fs::path cache_;
  static inline nlohmann::json lock_;
};

PackageSet lock_packages(const nlohmann::json& lock) {
  PackageSet packages;
  for (const nlohmann::json& p : lock.at("packages")) {
    packages[p.at("name").get<std::string>()] = p.at("version").get<std::string>();
  }
  return packages;
}

// Every way the two sets differ, one line each, minus the allowed ones.
std::vector<std::string> unexplained_differences(const PackageSet& ours, const PackageSet& apt,
                                                 std::set<std::string>& used_allowances) {
  std::set<std::string> names;
  for (const auto& [name, version] : ours) names.insert(name);
  for (const auto& [name, version] : apt) names.insert(name);
  std::vector<std::string> out;
  for (const std::string& name : names) {
    const auto o = ours.find(name);
    const auto a = apt.find(name);
    std::string what;
    if (a == apt.end()) {
      what = name + " " + o->second + ": in the lock, apt does not install it";
    } else if (o == ours.end()) {
      what = name + " " + a->second + ": apt installs it, the lock lacks it";
    } else if (o->second != a->second) {
      what = name + ": the lock has " + o->second + ", apt chooses " + a->second;
    } else {
      continue;
    }
    if (kAllowedDifferences.count(name) != 0) {
      used_allowances.insert(name);
    } else {
      out.push_back(what);
    }
  }
  return out;
}

TEST_F(LiveDebian12, LockChoosesTheSamePackagesAndVersionsAsApt) {
  const nlohmann::json& our_lock = lock();
  ASSERT_FALSE(our_lock.is_null());
  const PackageSet ours = lock_packages(our_lock);

  const ScratchApt apt(cache_ / "apt-root", sources_);
  const RunResult update = apt.update();
  ASSERT_EQ(update.exit_code, 0) << update.out << update.err;
  const std::vector<std::string> requested = requested_names();
  ASSERT_FALSE(requested.empty());
  const RunResult simulation = apt.simulate_install(requested);
  ASSERT_EQ(simulation.exit_code, 0) << simulation.err;
  const PackageSet theirs = parse_apt_simulation(simulation.out);
  // A handful would mean apt saw another request or no index at all.
  ASSERT_GT(theirs.size(), 100u) << simulation.out;
  for (const std::string& name : requested) EXPECT_EQ(theirs.count(name), 1u) << name;

  std::set<std::string> used;
  const std::vector<std::string> differences = unexplained_differences(ours, theirs, used);
  std::string listed;
  for (const std::string& d : differences) listed += "  " + d + "\n";
  EXPECT_TRUE(differences.empty()) << differences.size() << " unexplained difference(s) between "
                                   << ours.size() << " locked and " << theirs.size()
                                   << " apt packages:\n" << listed;
  for (const auto& [name, reason] : kAllowedDifferences) {
    EXPECT_EQ(used.count(name), 1u) << name << " is allowed to differ (" << reason
                                    << ") but no longer does: remove it from the list";
  }
}

TEST_F(LiveDebian12, BuildFetchesAndVerifiesEveryLockedPackageIntoTheCache) {
  const nlohmann::json& our_lock = lock();
  ASSERT_FALSE(our_lock.is_null());
  const RunResult r =
      cli({"build", (root_ / "live.yml").string(), "--lockfile", lock_path().string()});
  // The whole build succeeds from the lockfile alone: downloads checked
  // against the InRelease hashes signed with the archive key, then installed.
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE((r.out + r.err).find(kBuildCompleted), std::string::npos) << r.out << r.err;

  const fs::path objects = cache_ / "oic-cache/packages/sha256";
  for (const nlohmann::json& p : our_lock.at("packages")) {
    const std::string sha = p.at("sha256").get<std::string>();
    const fs::path object = objects / sha.substr(0, 2) / sha;
    SCOPED_TRACE(p.at("name").get<std::string>());
    ASSERT_TRUE(fs::is_regular_file(object)) << object;
    EXPECT_EQ(fs::file_size(object), p.at("size").get<std::uint64_t>());
  }
}

TEST(PackageSetComparison, ListsEveryMissingExtraAndDifferentlyVersionedPackage) {
  const PackageSet ours = {{"bash", "5.2.15-2+b7"}, {"extra", "1"}, {"libc6", "2.36-9"}, {"same", "1"}};
  const PackageSet apt = {{"bash", "5.2.15-2+b8"}, {"missing", "2"}, {"libc6", "2.36-9"}, {"same", "1"}};
  std::set<std::string> used;
  const std::vector<std::string> expected = {
      "bash: the lock has 5.2.15-2+b7, apt chooses 5.2.15-2+b8",
      "extra 1: in the lock, apt does not install it",
      "missing 2: apt installs it, the lock lacks it",
  };
  EXPECT_EQ(unexplained_differences(ours, apt, used), expected);
  EXPECT_TRUE(unexplained_differences(apt, apt, used).empty());
}

TEST(AptSimulation, ReadsNamesAndVersionsOfInstLinesOnly) {
  const std::string output =
      "NOTE: This is only a simulation!\n"
      "Inst libc6 (2.36-9+deb12u10 Debian:12.11/stable [amd64])\n"
      "Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable [all])\n"
      "Conf libc6 (2.36-9+deb12u10 Debian:12.11/stable [amd64])\n"
      "Inst perl-base (1:5.36.0-7+deb12u2 Debian:12.11/stable [amd64])\n";
  const PackageSet expected = {
      {"libc6", "2.36-9+deb12u10"}, {"tzdata", "2025b-0+deb12u1"}, {"perl-base", "1:5.36.0-7+deb12u2"}};
  EXPECT_EQ(parse_apt_simulation(output), expected);
}

}  // namespace
}  // namespace tests::live
