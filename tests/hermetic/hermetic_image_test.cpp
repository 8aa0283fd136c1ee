// A whole `build` on the hermetic repository with every real stage, no
// network beyond 127.0.0.1: the installer bootstraps with the target's own
// dpkg (make-debrepo.sh --installable puts this machine's dpkg, sh and their
// libraries in the essential base-tiny), runs a maintainer script, the
// target's update-initramfs and the systemd-boot installation; the diskmaker
// writes the GPT disk, which is read back from outside (sfdisk, debugfs,
// mtools).
// The build signs its outputs with a throw-away key (--sign-key) and keeps
// its requests and a log file: `verify` accepts the outputs, and no byte
// sequence of the secret key is anywhere under the workspace, the cache,
// the kept requests or the log.
// Not covered here: the kernel, initramfs and loader are placeholder files
// (the disk is never booted), and no template user or configuration command
// runs (the base has no useradd); the image suite covers those with real
// Debian packages.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "tests/hermetic/installable_defaults.hpp"
#include "tests/image/disk_inspect.hpp"
#include "tests/repo/repo_harness.hpp"
#include "tests/support/openpgp_keys.hpp"

namespace tests::hermetic {
namespace {

namespace fs = std::filesystem;
using image::Ext4Reader;
using image::FatReader;
using image::Partition;
using nlohmann::json;
using repo::RepoWorld;

constexpr const char* kKernel = "6.1.0-oic";
constexpr std::uint32_t kShadowGid = 42;


class HermeticImage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = std::make_unique<RepoWorld>(std::vector<std::string>{"--installable"},
                                         std::vector<std::string>{"owners"});
    repo::write_file(world_->default_raw_template(), kInstallableDefaults);
    tests::support::make_openpgp_keys(keys());
    repo::write_file(world_->config_path(), repo::slurp(world_->config_path()) + "logging:\n  file: " +
                                                (world_->root() / "oic.log").string() + "\n");
    build_ = world_->full_cli({"build", world_->template_path().string(), "--sign-key", (keys() / "a.sec").string(),
                               "--keep-requests", (world_->root() / "kept").string()});
    const fs::path dir = world_->root() / "work/debian-debian12-x86_64/imagebuild/repo-test";
    output_dir_ = dir;
    disk_ = dir / "repo-test-1.0.0.raw";
    lock_ = dir / "repo-test-1.0.0.lock.json";
    if (build_.exit_code == 0 && fs::exists(disk_)) {
      partitions_ = image::read_partition_table(disk_, world_->root() / "scratch");
    }
  }
  static void TearDownTestSuite() { world_.reset(); }

  void SetUp() override {
    ASSERT_EQ(build_.exit_code, 0) << build_.out << build_.err;
    ASSERT_EQ(partitions_.size(), 2u) << disk_ << " does not hold the ESP and the root";
  }

  static Ext4Reader rootfs() { return Ext4Reader(disk_, partitions_[1].offset, world_->root() / "scratch/ext4"); }
  static FatReader esp() { return FatReader(disk_, partitions_[0].offset, world_->root() / "scratch/fat"); }
  static std::string root_file(const std::string& path) {
    const auto text = rootfs().read_file(path);
    EXPECT_TRUE(text.has_value()) << path << " is missing from the root file system";
    return text.value_or("");
  }

  static fs::path keys() { return world_->root() / "keys"; }

  static inline std::unique_ptr<RepoWorld> world_;
  static inline repo::CliResult build_;
  static inline fs::path disk_, lock_, output_dir_;
  static inline std::vector<Partition> partitions_;
};

TEST_F(HermeticImage, EveryStageRanIncludingTheInstallerAndTheDiskmaker) {
  EXPECT_EQ(build_.err.find(repo::kInstallerMissing), std::string::npos);
  for (const char* job : {"[install] started (installer", "[make-disk] started (diskmaker"}) {
    EXPECT_NE(build_.out.find(job), std::string::npos) << job << "\n" << build_.out;
  }
  EXPECT_NE(build_.out.find("dpkg batch 1/2: 1 package(s) from base-tiny (essential set"), std::string::npos)
      << build_.out;
}

// The line of `job` in the timing table, and the step lines below it.
std::vector<std::string> timing_lines(const std::string& out, const std::string& job) {
  std::istringstream lines(out.substr(std::min(out.find("\nJOB "), out.size())));
  std::vector<std::string> found;
  for (std::string line; std::getline(lines, line);) {
    if (!found.empty() && !line.starts_with("  ")) break;
    if (found.empty() && !line.starts_with(job + " ")) continue;
    found.push_back(line);
  }
  return found;
}

std::set<std::string> step_names(const std::vector<std::string>& lines) {
  std::set<std::string> names;
  for (std::size_t i = 1; i < lines.size(); ++i) names.insert(lines[i].substr(2, lines[i].find("  ", 2) - 2));
  return names;
}

TEST_F(HermeticImage, TheTimingTableGivesEachJobsCpuAndPeakMemoryAndItsSteps) {
  ASSERT_NE(build_.out.find("\nJOB "), std::string::npos) << build_.out;
  EXPECT_NE(build_.out.find("SECONDS        CPU  PEAK-MIB  STATUS"), std::string::npos) << build_.out;
  const std::vector<std::string> install = timing_lines(build_.out, "install");
  ASSERT_FALSE(install.empty()) << build_.out;
  std::istringstream row(install.front());
  std::string job, stage, status;
  double seconds = 0, cpu = 0, peak_mib = 0;
  row >> job >> stage >> seconds >> cpu >> peak_mib >> status;
  EXPECT_EQ(stage, "installer");
  EXPECT_EQ(status, "ok");
  EXPECT_GT(cpu, 0.0) << install.front();  // dpkg ran inside
  EXPECT_GT(peak_mib, 1.0) << install.front();
  EXPECT_EQ(step_names(install),
            (std::set<std::string>{"start", "check packages", "unpack essential", "install", "triggers"}))
      << build_.out;
  const std::set<std::string> configure = step_names(timing_lines(build_.out, "configure"));
  for (const char* step : {"configure", "initramfs", "bootloader", "sbom"}) {
    EXPECT_TRUE(configure.contains(step)) << step << " missing in\n" << build_.out;
  }
  EXPECT_EQ(step_names(timing_lines(build_.out, "make-disk")),
            (std::set<std::string>{"start", "partition", "format", "artifacts"}))
      << build_.out;
}

TEST_F(HermeticImage, DpkgOfTheTargetInstalledEveryLockedPackage) {
  const json lock = json::parse(repo::slurp(lock_));
  std::map<std::string, std::string> status;
  std::string name;
  std::istringstream lines(root_file("/var/lib/dpkg/status"));
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("Package: ")) name = line.substr(9);
    if (line.starts_with("Status: ")) status[name] = line.substr(8);
  }
  ASSERT_GE(lock.at("packages").size(), 8u);
  for (const json& p : lock.at("packages")) {
    const std::string package = p.at("name").get<std::string>();
    EXPECT_EQ(status[package], "install ok installed") << package;
  }
  EXPECT_EQ(status.size(), lock.at("packages").size());
  EXPECT_TRUE(rootfs().stat("/usr/bin/dpkg").has_value());
}

TEST_F(HermeticImage, MaintainerScriptRanInTheTargetAndItsOwnersAndModesReachTheDisk) {
  EXPECT_EQ(root_file("/var/lib/oic-owners/configured"), "configured by postinst\n");
  const auto shadow = rootfs().stat("/etc/oic-shadow");
  ASSERT_TRUE(shadow.has_value());
  EXPECT_EQ(shadow->uid, 0u);
  EXPECT_EQ(shadow->gid, kShadowGid);
  EXPECT_EQ(shadow->permissions(), 0640u);
  const auto setuid = rootfs().stat("/usr/bin/oic-setuid");
  ASSERT_TRUE(setuid.has_value());
  EXPECT_EQ(setuid->permissions(), 04755u);
  // Files of the packages keep dpkg's root owner, not the building user's uid.
  const auto readme = rootfs().stat("/usr/share/doc/foo/README");
  ASSERT_TRUE(readme.has_value());
  EXPECT_EQ(readme->uid, 0u);
}

TEST_F(HermeticImage, EspHoldsSystemdBootWithTheKernelAndTheInitramfsOfTheTarget) {
  const std::vector<std::string> listed = esp().list_tree();
  const std::set<std::string> files(listed.begin(), listed.end());
  const std::string kernel = kKernel;
  for (const std::string& path : std::vector<std::string>{
           "/EFI/BOOT/BOOTX64.EFI", "/EFI/systemd/systemd-bootx64.efi", "/loader/loader.conf",
           "/oictest/vmlinuz-" + kernel, "/oictest/initrd.img-" + kernel, "/loader/entries/oictest.conf"}) {
    EXPECT_EQ(files.count(path), 1u) << path << "; the ESP holds " << ::testing::PrintToString(listed);
  }
  // Written by the target's update-initramfs, which the installer ran.
  EXPECT_EQ(esp().read_file("/oictest/initrd.img-" + std::string(kKernel)),
            std::optional<std::string>("placeholder initramfs for " + std::string(kKernel) + "\n"));
  const image::FsProbe root = image::probe_filesystem(disk_, partitions_[1].offset, world_->root() / "scratch");
  ASSERT_FALSE(root.uuid.empty());
  const auto entry = esp().read_file("/loader/entries/oictest.conf");
  ASSERT_TRUE(entry.has_value());
  EXPECT_NE(entry->find("root=UUID=" + root.uuid), std::string::npos) << *entry;
}

TEST_F(HermeticImage, FstabNamesBothFileSystemsByUuid) {
  const fs::path scratch = world_->root() / "scratch";
  const image::FsProbe boot = image::probe_filesystem(disk_, partitions_[0].offset, scratch);
  const image::FsProbe root = image::probe_filesystem(disk_, partitions_[1].offset, scratch);
  EXPECT_EQ(boot.type, "vfat");
  EXPECT_EQ(root.type, "ext4");
  std::map<std::string, image::FstabEntry> by_mount;
  for (const image::FstabEntry& e : image::parse_fstab(root_file("/etc/fstab"))) by_mount[e.mount_point] = e;
  EXPECT_EQ(by_mount["/"].spec, "UUID=" + root.uuid);
  EXPECT_EQ(by_mount["/boot/efi"].spec, "UUID=" + boot.uuid);
}

TEST_F(HermeticImage, TheSignedOutputsVerify) {
  ASSERT_TRUE(fs::exists(output_dir_ / "SHA256SUMS.asc"));
  const std::string sums = repo::slurp(output_dir_ / "SHA256SUMS");
  for (const char* name : {"repo-test-1.0.0.raw", "repo-test-1.0.0.lock.json", "repo-test-1.0.0.template.yml",
                           "repo-test-1.0.0.spdx.json"}) {
    EXPECT_NE(sums.find(std::string("  ") + name + "\n"), std::string::npos) << name << " is not in SHA256SUMS";
  }
  const repo::CliResult good =
      world_->full_cli({"verify", output_dir_.string(), "--key", (keys() / "a.pub").string()});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  const repo::CliResult other =
      world_->full_cli({"verify", output_dir_.string(), "--key", (keys() / "b.pub").string()});
  EXPECT_EQ(other.exit_code, 1) << other.out << other.err;
}

// What of the secret key could leak: each base64 line of its armored body
// and each 32-byte piece of its binary packets.
std::vector<std::string> secret_key_pieces(const fs::path& keys) {
  std::vector<std::string> pieces;
  std::istringstream armored(repo::slurp(keys / "a.sec"));
  for (std::string line; std::getline(armored, line);) {
    if (line.size() >= 40 && line.find(':') == std::string::npos && line.find("-----") == std::string::npos) {
      pieces.push_back(line);
    }
  }
  const std::string binary = repo::slurp(keys / "a.bin");
  for (std::size_t at = 0; at + 32 <= binary.size(); at += 32) pieces.push_back(binary.substr(at, 32));
  return pieces;
}

// Streams `file` (a disk image may be large), keeping an overlap so a piece
// across two reads is still found.
std::optional<std::size_t> find_any(const fs::path& file, const std::vector<std::string>& pieces) {
  std::ifstream in(file, std::ios::binary);
  std::string window;
  std::vector<char> chunk(8 << 20);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
    window.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (window.find(pieces[i]) != std::string::npos) return i;
    }
    if (window.size() > 256) window.erase(0, window.size() - 256);
  }
  return std::nullopt;
}

TEST_F(HermeticImage, NoByteOfTheSecretKeyIsInTheWorkspaceCacheKeptRequestsOrLog) {
  const std::vector<std::string> pieces = secret_key_pieces(keys());
  ASSERT_GE(pieces.size(), 6u);
  ASSERT_TRUE(fs::exists(world_->root() / "oic.log"));
  ASSERT_TRUE(fs::exists(world_->root() / "kept/sign-outputs.json"));
  std::size_t files = 0;
  for (const fs::path& top : {world_->root() / "work", world_->cache_dir(), world_->root() / "kept",
                              world_->root() / "tmp", world_->root() / "oic.log"}) {
    std::vector<fs::path> found = {top};
    if (fs::is_directory(top)) {
      found.clear();
      for (const auto& entry : fs::recursive_directory_iterator(top, fs::directory_options::skip_permission_denied)) {
        if (entry.is_regular_file() && !entry.is_symlink()) found.push_back(entry.path());
      }
    }
    for (const fs::path& file : found) {
      ++files;
      const auto piece = find_any(file, pieces);
      EXPECT_FALSE(piece.has_value()) << file << " holds piece " << piece.value_or(0) << " of the secret key";
    }
  }
  EXPECT_GT(files, 10u);
  // The kept request names the key file; it is not copied beside it.
  EXPECT_NE(repo::slurp(world_->root() / "kept/sign-outputs.json").find((keys() / "a.sec").string()),
            std::string::npos);
}

}  // namespace
}  // namespace tests::hermetic
