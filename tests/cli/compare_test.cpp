// `compare` as a user runs it: the built CLI on disks made by hand
// (stages/inspector/test_disk.hpp) and copies of them with bytes changed in
// place, each read by the real, sandboxed stage-inspector: an image with
// itself is binary identical (exit 0), a copy where one file's content
// differs names exactly that file (exit 1), a copy where dpkg's status
// gives a package another version names the package and the file, the JSON
// report parses, and bad input exits 2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "stages/inspector/test_disk.hpp"
#include "tests/cli/cli_run.hpp"
#include "tests/support/run_program.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using namespace stage::inspector::testing;
using ::testing::HasSubstr;
using ::testing::Not;

using tests::cli::env_or_empty;

// A copy of `disk` with the one occurrence of `from` replaced by `to` (the
// same length): a file's content changed in place, nothing else.
fs::path edited_copy(const fs::path& disk, const std::string& name, const std::string& from, const std::string& to) {
  std::string bytes = tests::support::read_whole_file(disk);
  const std::size_t at = bytes.find(from);
  if (at == std::string::npos || bytes.find(from, at + 1) != std::string::npos || from.size() != to.size()) {
    throw std::runtime_error("'" + from + "' is not in " + disk.string() + " exactly once");
  }
  bytes.replace(at, from.size(), to);
  const fs::path copy = disk.parent_path() / name;
  write_file(copy, bytes);
  return copy;
}

class CliCompare : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<tests::TempDir>("oic-cli-compare");
    fill_debian_tree(dir_->path() / "tree");
    write_file(dir_->path() / "tree/etc/hostname", "oic-compare-a\n");
    fill_esp(dir_->path() / "esp");
    disk_ = make_disk(dir_->path());
    hostname_ = edited_copy(disk_, "hostname.raw", "oic-compare-a\n", "oic-compare-b\n");
    package_ = edited_copy(disk_, "package.raw", "Version: 5.2.15-2+b2\n", "Version: 5.2.15-3+b9\n");
    grub_ = edited_copy(disk_, "grub.raw", "ro quiet\n", "ro splsh\n");
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    ASSERT_NE(*env_or_empty("OIC_CLI"), '\0') << "OIC_CLI must name the binary";
    ASSERT_NE(*env_or_empty("OIC_STAGE_DIR"), '\0') << "OIC_STAGE_DIR must hold stage-inspector";
  }

  tests::support::RunResult compare(const std::vector<std::string>& extra) {
    return tests::cli::run_cli("compare", extra, scratch_.path());
  }

  static inline std::unique_ptr<tests::TempDir> dir_;
  static inline fs::path disk_;
  static inline fs::path hostname_;
  static inline fs::path package_;
  static inline fs::path grub_;
  tests::TempDir scratch_{"oic-cli-compare-run"};
};

TEST_F(CliCompare, AnImageWithItselfIsBinaryIdentical) {
  const auto hashed = compare({disk_.string(), disk_.string(), "--hash-images"});
  ASSERT_EQ(hashed.exit_code, 0) << hashed.err;
  EXPECT_THAT(hashed.out, HasSubstr("Equality: binary_identical (0 meaningful differences, 0 volatile)\n"));
  const auto unhashed = compare({disk_.string(), disk_.string()});
  ASSERT_EQ(unhashed.exit_code, 0) << unhashed.err;
  EXPECT_THAT(unhashed.out, HasSubstr("Equality: semantically_identical_unverified (0 meaningful"));
}

// A compressed qcow2 of the disk (as the build writes one) is compared as
// its raw disk: the same bytes, so semantically identical (never binary: the
// files differ), the format the one volatile difference; its copy with a
// file changed names that file.
TEST_F(CliCompare, ARawImageAndItsQcow2AreSemanticallyIdentical) {
  if (!fs::exists("/usr/bin/qemu-img")) GTEST_SKIP() << "qemu-img is not installed (Debian package qemu-utils)";
  const fs::path qcow2 = dir_->path() / "disk.qcow2";
  run_ok({"/usr/bin/qemu-img", "convert", "-q", "-c", "-f", "raw", "-O", "qcow2", disk_.string(), qcow2.string()},
         dir_->path() / "scratch");
  const auto hashed = compare({disk_.string(), qcow2.string(), "--hash-images"});
  ASSERT_EQ(hashed.exit_code, 0) << hashed.out << hashed.err;
  EXPECT_THAT(hashed.out, HasSubstr("Equality: semantically_identical (0 meaningful differences, 1 volatile)\n"));
  EXPECT_THAT(hashed.out, HasSubstr("format raw -> qcow2"));
  const auto unhashed = compare({qcow2.string(), disk_.string()});
  ASSERT_EQ(unhashed.exit_code, 0) << unhashed.out << unhashed.err;
  EXPECT_THAT(unhashed.out, HasSubstr("Equality: semantically_identical_unverified (0 meaningful differences, 1 volatile)"));
  const fs::path hostname_qcow2 = dir_->path() / "hostname.qcow2";
  run_ok({"/usr/bin/qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", hostname_.string(), hostname_qcow2.string()},
         dir_->path() / "scratch");
  const auto both = compare({qcow2.string(), hostname_qcow2.string(), "--hash-images"});
  ASSERT_EQ(both.exit_code, 1) << both.out << both.err;
  EXPECT_THAT(both.out, HasSubstr("files (partition 2 rootfs):\n  ~ /etc/hostname  sha256 "));
  EXPECT_THAT(both.out, HasSubstr("partition bytes:\n  ~ rootfs (4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709)  sha256 "));
}

TEST_F(CliCompare, OneFileChangedInExt4IsTheOneDifference) {
  const auto r = compare({disk_.string(), hostname_.string(), "--hash-images"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Equality: different (1 meaningful differences, 1 volatile)\n"));
  EXPECT_THAT(r.out, HasSubstr("files (partition 2 rootfs):\n  ~ /etc/hostname  sha256 "));
  // With --hash-images the partition holding the different bytes is named too.
  EXPECT_THAT(r.out, HasSubstr("partition bytes:\n  ~ rootfs (4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709)  sha256 "));
  EXPECT_THAT(r.out, Not(HasSubstr("esp (C12A7328")));
  EXPECT_THAT(r.out, Not(HasSubstr("packages")));
  const auto summary = compare({disk_.string(), hostname_.string(), "--mode", "summary"});
  EXPECT_EQ(summary.exit_code, 1) << summary.err;
  EXPECT_THAT(summary.out, HasSubstr("files (partition 2 rootfs): 0 added, 0 removed, 1 changed\n"));
}

TEST_F(CliCompare, APackageVersionChangedInDpkgStatusIsListed) {
  const auto r = compare({disk_.string(), package_.string()});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("packages:\n  ~ bash:amd64  version 5.2.15-2+b2 -> 5.2.15-3+b9\n"));
  EXPECT_THAT(r.out, HasSubstr("  ~ /var/lib/dpkg/status  sha256 "));
  EXPECT_THAT(r.out, HasSubstr("Equality: different (2 meaningful differences, 0 volatile)\n"));
}

TEST_F(CliCompare, DifferentBytesInFileSystemMetadataAloneAreSemanticallyIdentical) {
  const fs::path copy = dir_->path() / "metadata.raw";
  fs::copy_file(disk_, copy, fs::copy_options::overwrite_existing);
  const std::string fs_at = copy.string() + "?offset=" + std::to_string(kRootOffset);
  const auto ssv = tests::support::run_program({"/usr/sbin/debugfs", "-w", "-R", "ssv last_mounted /elsewhere", fs_at},
                                               {{"LC_ALL", "C"}}, scratch_.path() / "debugfs");
  ASSERT_EQ(ssv.exit_code, 0) << ssv.err;
  const auto r = compare({disk_.string(), copy.string(), "--hash-images"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("Equality: semantically_identical (0 meaningful differences, 1 volatile)\n"
                               "partition bytes:\n  ~ rootfs (4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709)  sha256 "));
  EXPECT_THAT(r.out, HasSubstr("(volatile)\n"));
}

TEST_F(CliCompare, ABootConfigurationsChangedLineIsShown) {
  const auto r = compare({disk_.string(), grub_.string()});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Equality: different (3 meaningful differences, 0 volatile)\n"));
  EXPECT_THAT(r.out, HasSubstr("boot configuration:\n  ~ partition 2 /boot/grub/grub.cfg  sha256 "));
  EXPECT_THAT(r.out, HasSubstr("\n      - \tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=3f0c4c8e ro quiet\n"
                               "      + \tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=3f0c4c8e ro splsh\n"));
  EXPECT_THAT(r.out, HasSubstr("kernels:\n  ~ /boot/vmlinuz-6.1.0-13-amd64 (/boot/grub/grub.cfg)  command line "
                               "root=UUID=3f0c4c8e ro quiet -> root=UUID=3f0c4c8e ro splsh\n"));
  EXPECT_THAT(r.out, HasSubstr("files (partition 2 rootfs):\n  ~ /boot/grub/grub.cfg  sha256 "));
}

// Two installer ISOs whose GRUB configurations differ in one option: the
// file, the configuration and the kernel's command line are the differences.
TEST_F(CliCompare, TwoIsoMediaAreComparedByTheirFilesAndBootSetup) {
  fs::create_directories(scratch_.path() / "a");
  fs::create_directories(scratch_.path() / "b");
  const fs::path a = make_iso(scratch_.path() / "a", kIsoManifest);
  const fs::path b = make_iso(scratch_.path() / "b", kIsoManifest, "console=ttyS0 splash");
  const auto same = compare({a.string(), a.string()});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  const auto r = compare({a.string(), b.string()});
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("kernels:\n  ~ /images/vmlinuz (/boot/grub/grub.cfg)  command line "
                               "console=ttyS0 quiet -> console=ttyS0 splash\n"));
  EXPECT_THAT(r.out, HasSubstr("Equality: different (3 meaningful differences, 0 volatile)\n"));
  EXPECT_THAT(r.out, HasSubstr("files (medium):\n  ~ /boot/grub/grub.cfg  size 94 -> 95, sha256 "));
  EXPECT_THAT(r.out, Not(HasSubstr("packages:")));
}

TEST_F(CliCompare, PrintsOneJsonDocument) {
  const auto r = compare({disk_.string(), hostname_.string(), "--format", "json", "--hash-images"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["mode"], "full");
  EXPECT_EQ(j["equality"]["class"], "different");
  EXPECT_EQ(j["equality"]["meaningfulDiffs"], 1);
  EXPECT_EQ(j["from"]["sizeBytes"], kDiskSize);
  EXPECT_EQ(j["from"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_NE(j["from"]["sha256"], j["to"]["sha256"]);
  EXPECT_EQ(j["from"]["packages"], 2);
  ASSERT_EQ(j["diff"].size(), 2u);
  EXPECT_EQ(j["diff"][1]["section"], "partition bytes");
  EXPECT_EQ(j["diff"][1]["volatile"], true);
  EXPECT_EQ(j["diff"][0]["section"], "files (partition 2 rootfs)");
  EXPECT_EQ(j["diff"][0]["item"], "/etc/hostname");
  EXPECT_EQ(j["diff"][0]["change"], "changed");
  EXPECT_EQ(j["diff"][0]["fields"][0]["field"], "sha256");
  EXPECT_NE(j["diff"][0]["fields"][0]["from"], j["diff"][0]["fields"][0]["to"]);
  EXPECT_EQ(j["summary"]["files (partition 2 rootfs)"]["changed"], 1);
}

TEST_F(CliCompare, SpdxModeComparesThePackageSets) {
  const fs::path a = scratch_.path() / "a.spdx.json";
  const fs::path b = scratch_.path() / "b.spdx.json";
  write_file(a, R"({"packages": [{"name": "bash", "versionInfo": "5.2"}, {"name": "zlib", "versionInfo": "1.2"}]})");
  write_file(b, R"({"packages": [{"name": "bash", "versionInfo": "5.3"}]})");
  const auto r = compare({a.string(), b.string(), "--mode", "spdx"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("packages:\n  ~ bash  version 5.2 -> 5.3\n  - zlib  version 1.2\n"));
  const auto same = compare({disk_.string(), package_.string(), "--mode", "spdx"});  // the embedded SBOMs
  EXPECT_EQ(same.exit_code, 0) << same.err;
}

TEST_F(CliCompare, BadInputExitsTwoWithOneClearError) {
  const auto mode = compare({disk_.string(), disk_.string(), "--mode", "tree"});
  EXPECT_EQ(mode.exit_code, 2);
  EXPECT_THAT(mode.err, HasSubstr("Unknown --mode 'tree': expected diff, summary, full or spdx"));
  const auto missing = compare({disk_.string(), (dir_->path() / "missing.raw").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("missing.raw"));
  const fs::path garbage = dir_->path() / "garbage.raw";
  write_file(garbage, std::string(1 << 20, 'x'));
  const auto broken = compare({disk_.string(), garbage.string()});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_THAT(broken.err, HasSubstr("Failed to read a partition table in 'garbage.raw'"));
  const auto one = compare({disk_.string()});
  EXPECT_EQ(one.exit_code, 2);
}

}  // namespace
