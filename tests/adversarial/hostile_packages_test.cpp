// Hostile packages and a hostile configuration command in a whole build on
// the hermetic installable repository, with every real stage:
// - oic-hostile-script's postinst and the template's configuration command
//   run oic-escape-probe (escape_probe.cpp) in the image tree: through the
//   installer's fds, out of the chroot, into every mount it sees;
// - oic-link (a symlink to the package cache) and oic-through-link (a file
//   below that symlink's name), both essential, so the installer's own
//   extractor unpacks them: each alone is harmless, together they write
//   through the link.
// The reports land in the image and are read back from the disk; on the
// host the sentinels stay unmarked and the cache unchanged.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "tests/adversarial/hostile_names.hpp"
#include "tests/hermetic/installable_defaults.hpp"
#include "tests/image/disk_inspect.hpp"
#include "tests/repo/repo_harness.hpp"

namespace tests::adversarial {
namespace {

namespace fs = std::filesystem;
using repo::RepoWorld;

constexpr const char* kProbeInImage = "/usr/libexec/oic-escape-probe";

void write_executable(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  repo::write_file(path, text);
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
}

// A package tree in `dir`/NAME built into `dir`/NAME.deb.
void build_deb(const fs::path& dir, const std::string& name, const std::vector<std::string>& fields,
               const std::function<void(const fs::path&)>& fill) {
  const fs::path root = dir / name;
  fs::create_directories(root / "DEBIAN");
  std::string control = "Package: " + name + "\nVersion: 1.0\nArchitecture: amd64\n"
                        "Maintainer: OIC Tests <tests@example.invalid>\nPriority: optional\n";
  for (const std::string& f : fields) control += f + "\n";
  control += "Description: hostile test package\n Tries to leave the image tree.\n";
  repo::write_file(root / "DEBIAN/control", control);
  fill(root);
  ASSERT_EQ(debrepo::run_argv({"/usr/bin/dpkg-deb", "--root-owner-group", "-Zgzip", "-b", root.string(),
                               (dir / (name + ".deb")).string()}),
            0);
  fs::remove_all(root);
}

struct Reports {
  std::string postinst, configuration;
};

class HostilePackages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = std::make_unique<RepoWorld>(std::vector<std::string>{"--installable"});
    const fs::path debs = world_->root() / "hostile-debs";
    fs::create_directories(debs);
    make_hostile_debs(debs);
    // The repository again, now with the hostile packages (new throw-away key,
    // same place: the world's server and template follow).
    fs::remove_all(world_->root() / "repo");
    debrepo::make_debrepo(world_->root() / "repo",
                          {"--more-relations", "--installable", "--extra-debs", debs.string()});
    repo::write_file(world_->default_raw_template(), hermetic::kInstallableDefaults);
    write_template();
    repo::write_file(world_->root() / kSentinel, "the host\n");
    build_ = world_->full_cli({"build", world_->template_path().string()});
  }
  static void TearDownTestSuite() { world_.reset(); }

  static void make_hostile_debs(const fs::path& dir) {
    const char* probe = std::getenv("OIC_ESCAPE_PROBE");
    ASSERT_TRUE(probe != nullptr && *probe != '\0') << "OIC_ESCAPE_PROBE is not set (meson sets it)";
    build_deb(dir, "oic-hostile-script", {"Depends: base-tiny"}, [&](const fs::path& root) {
      fs::create_directories(root / "var/log");
      fs::create_directories(root / "usr/libexec");
      fs::copy_file(probe, root / "usr/libexec/oic-escape-probe");
      write_executable(root / "DEBIAN/postinst",
                       std::string("#!/bin/sh\n") + kProbeInImage + " /var/log/oic-probe-postinst.txt\n");
    });
    const fs::path cache_packages = world_->cache_dir() / "packages";
    build_deb(dir, "oic-link", {"Essential: yes"}, [&](const fs::path& root) {
      // The link's target exists in the tree too: resolved in the tree, as
      // dpkg resolves it, the write below lands there.
      fs::create_directories(root / cache_packages.relative_path());
      fs::create_directories(root / "usr/share");
      fs::create_symlink(cache_packages, root / "usr/share/oic-link");
    });
    build_deb(dir, "oic-through-link", {"Essential: yes", "Pre-Depends: oic-link"}, [&](const fs::path& root) {
      repo::write_file(root / "usr/share/oic-link" / kEscapeMark, "written through a link\n");
    });
  }

  static void write_template() {
    repo::write_file(world_->template_path(),
                     "image:\n  name: repo-test\n  version: \"1.0.0\"\n"
                     "target:\n  os: debian\n  dist: debian12\n  arch: x86_64\n  imageType: raw\n"
                     "packageRepositories:\n  - codename: " + world_->repo().codename +
                         "\n    url: " + world_->base_url() + "\n    pkey: " + world_->repo().keyring().string() +
                         "\n    component: main\n"
                         "systemConfig:\n  name: repo-test\n  packages:\n    - oic-hostile-script\n"
                         "    - oic-link\n    - oic-through-link\n"
                         "  configurations:\n    - cmd: \"" + kProbeInImage +
                         " /var/log/oic-probe-configuration.txt\"\n");
  }

  static fs::path disk() {
    return world_->root() / "work/debian-debian12-x86_64/imagebuild/repo-test/repo-test-1.0.0.raw";
  }

  static std::string image_file(const std::string& path) {
    const fs::path scratch = world_->root() / "scratch";
    const std::vector<image::Partition> parts = image::read_partition_table(disk(), scratch);
    if (parts.size() != 2) return {};
    return image::Ext4Reader(disk(), parts[1].offset, scratch / "ext4").read_file(path).value_or("");
  }

  // Every probe line says blocked, and the mounts it wrote into are the
  // stage's own scratch space or the build's workspace, never anything else
  // of the host (the cache, /usr, the template's directory).
  static void expect_contained(const std::string& report, const std::string& who) {
    SCOPED_TRACE(who + " report:\n" + report);
    ASSERT_NE(report.find("\ndone\n"), std::string::npos) << "the probe did not finish";
    EXPECT_EQ(report.find("ESCAPED"), std::string::npos);
    for (const char* probe : {"proc-1-fd: blocked", "chroot-escape: blocked"}) {
      EXPECT_NE(report.find(probe), std::string::npos) << probe;
    }
    static const std::regex kWrote(R"(wrote: (\S+) (\S+))");
    const std::set<std::string> scratch_types = {"tmpfs", "proc", "devtmpfs", "sysfs", "devpts", "mqueue"};
    for (std::sregex_iterator it(report.begin(), report.end(), kWrote), end; it != end; ++it) {
      const std::string point = (*it)[1], type = (*it)[2];
      if (scratch_types.count(type)) continue;
      EXPECT_TRUE(in_an_image_tree(point)) << "wrote into " << point << " (" << type << ")";
    }
  }

  // Where a build's own trees are: its workspace, a build environment being
  // made (cache/buildenv/.tmp-*) and, once saved, that environment's tree.
  // Packages may write there; nothing of the host is below these.
  static bool in_an_image_tree(const fs::path& path) {
    const std::string text = path.string();
    const std::string buildenv = (world_->cache_dir() / "buildenv").string() + "/";
    if (text.starts_with((world_->root() / "work").string() + "/")) return true;
    if (!text.starts_with(buildenv)) return false;
    const std::string rest = text.substr(buildenv.size());
    return rest.starts_with(".tmp-") || rest.find("/tree/") != std::string::npos || rest.ends_with("/tree");
  }

  static inline std::unique_ptr<RepoWorld> world_;
  static inline repo::CliResult build_;
};

TEST_F(HostilePackages, BuildEndsWithoutTouchingTheHost) {
  const std::string output = build_.out + build_.err;
  EXPECT_EQ(repo::slurp(world_->root() / kSentinel), "the host\n");
  std::vector<fs::path> marks;
  for (const auto& entry : fs::recursive_directory_iterator(world_->root(), fs::directory_options::skip_permission_denied)) {
    if (entry.path().filename() == kEscapeMark && !in_an_image_tree(entry.path())) marks.push_back(entry.path());
  }
  EXPECT_EQ(marks, std::vector<fs::path>{}) << output;
  // The package cache holds objects only; nothing came through the link.
  EXPECT_FALSE(fs::exists(world_->cache_dir() / "packages" / kEscapeMark)) << output;
}

TEST_F(HostilePackages, MaintainerScriptStaysInTheInstallersSandbox) {
  ASSERT_EQ(build_.exit_code, 0) << build_.out << build_.err;
  expect_contained(image_file("/var/log/oic-probe-postinst.txt"), "postinst");
}

TEST_F(HostilePackages, ConfigurationCommandStaysInTheInstallersSandbox) {
  ASSERT_EQ(build_.exit_code, 0) << build_.out << build_.err;
  expect_contained(image_file("/var/log/oic-probe-configuration.txt"), "configuration");
}

// The build environment is saved before any template step: a configuration
// command that left the chroot finds the saved tree read-only, so nothing it
// does reaches a later build of the same package set.
TEST_F(HostilePackages, ConfigurationCommandCannotWriteTheSavedBuildEnvironment) {
  ASSERT_EQ(build_.exit_code, 0) << build_.out << build_.err;
  const std::string report = image_file("/var/log/oic-probe-configuration.txt");
  ASSERT_NE(report.find("\ndone\n"), std::string::npos) << report;
  EXPECT_EQ(report.find("wrote: " + (world_->cache_dir() / "buildenv").string()), std::string::npos) << report;
}

TEST_F(HostilePackages, AFileBelowAnotherPackagesSymlinkStaysInTheImageTree) {
  ASSERT_EQ(build_.exit_code, 0) << build_.out << build_.err;
  // Extracted relative to the tree, the link's absolute target is a path
  // inside the image: the file is there, on the image's disk.
  const std::string inside = (world_->cache_dir() / "packages" / kEscapeMark).string();
  EXPECT_EQ(image_file(inside), "written through a link\n");
}

}  // namespace
}  // namespace tests::adversarial
