// `inspect` as a user runs it: the built CLI on a disk made by hand
// (stages/inspector/test_disk.hpp), read by the real, sandboxed
// stage-inspector and printed as text, JSON and YAML; what it cannot read
// yet, and images it must refuse, exit non-zero with one clear message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

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

class CliInspect : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<tests::TempDir>("oic-cli-inspect");
    fill_debian_tree(dir_->path() / "tree");
    fill_esp(dir_->path() / "esp");
    disk_ = make_disk(dir_->path());
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    ASSERT_NE(*env_or_empty("OIC_CLI"), '\0') << "OIC_CLI must name the binary";
    ASSERT_NE(*env_or_empty("OIC_STAGE_DIR"), '\0') << "OIC_STAGE_DIR must hold stage-inspector";
  }

  tests::support::RunResult inspect(const std::vector<std::string>& extra) {
    return tests::cli::run_cli("inspect", extra, scratch_.path(), "/dev/null", cwd());
  }

  // The CLI's working directory: --extract-sbom without a value writes there.
  fs::path cwd() const {
    fs::create_directories(scratch_.path() / "cwd");
    return scratch_.path() / "cwd";
  }

  static inline std::unique_ptr<tests::TempDir> dir_;
  static inline fs::path disk_;
  tests::TempDir scratch_{"oic-cli-inspect-run"};
};

TEST_F(CliInspect, PrintsTheReportAsText) {
  const auto r = inspect({disk_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(std::string("Partition table: gpt, id ") + kDiskGuid));
  EXPECT_THAT(r.out, HasSubstr("  1  esp          LBA 2048-34815  16777216 bytes  type C12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
  EXPECT_THAT(r.out, HasSubstr(std::string("file system: ext4  label 'root'  uuid ") + kRootFsUuid));
  EXPECT_THAT(r.out, HasSubstr("Root file system: partition 2\n"));
  EXPECT_THAT(r.out, HasSubstr("  VERSION_ID=12\n"));
  EXPECT_THAT(r.out, HasSubstr("Packages (2):\n  bash 5.2.15-2+b2 amd64\n  base-files 12.4+deb12u5 amd64\n"));
  EXPECT_THAT(r.out, HasSubstr("  debian uid 1000 gid 1000 home /home/debian shell /bin/bash\n"));
  EXPECT_THAT(r.out, HasSubstr("  sudo gid 27 members debian\n"));
  EXPECT_THAT(r.out, HasSubstr("Boot files (2):\n  partition 1  /EFI/BOOT/BOOTX64.EFI\n  partition 1  /EFI/Linux/debian.efi\n"));
  EXPECT_THAT(r.out, HasSubstr("UKIs (1):\n  partition 1  /EFI/Linux/debian.efi\n    sections: .osrel 10, .cmdline 39, .linux 4096\n"));
  EXPECT_THAT(r.out, HasSubstr("    command line: root=/dev/mapper/root roothash=abcd ro\n    dm-verity root hash: abcd\n"));
  EXPECT_THAT(r.out, HasSubstr("  partition 2  /boot/grub/grub.cfg  "));
  EXPECT_THAT(r.out, HasSubstr("  /vmlinuz  (/loader/entries/debian.conf)\n"
                               "    command line: root=/dev/mapper/root roothash=00ff ro\n"
                               "    dm-verity root hash: 00ff\n"));
}

TEST_F(CliInspect, PrintsTheReportAsJson) {
  const auto r = inspect({disk_.string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["partitionTable"]["id"], kDiskGuid);
  EXPECT_EQ(j["partitions"][1]["uniqueGuid"], kRootGuid);
  EXPECT_EQ(j["partitions"][1]["filesystem"]["uuid"], kRootFsUuid);
  EXPECT_EQ(j["partitions"][0]["filesystem"]["label"], "ESP");
  EXPECT_EQ(j["root"]["osRelease"]["ID"], "debian");
  EXPECT_EQ(j["root"]["packages"][0]["version"], "5.2.15-2+b2");
  EXPECT_EQ(j["root"]["users"][1]["uid"], 1000);
  EXPECT_EQ(j["root"]["groups"][1]["members"][0], "debian");
  EXPECT_EQ(j["boot"]["configs"][1]["text"], "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=UUID=3f0c4c8e ro quiet\n}\n");
  EXPECT_EQ(j["boot"]["kernels"][2]["commandLine"], "root=UUID=3f0c4c8e ro quiet");
  EXPECT_EQ(j["boot"]["ukis"][0]["sections"][2]["name"], ".linux");
}

TEST_F(CliInspect, PrintsTheReportAsYaml) {
  const auto r = inspect({disk_.string(), "--format", "yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const YAML::Node y = YAML::Load(r.out);
  EXPECT_EQ(y["partitionTable"]["type"].as<std::string>(), "gpt");
  EXPECT_EQ(y["partitionTable"]["lastUsableLba"].as<std::uint64_t>(), kDiskSize / 512 - 34);  // before the backup GPT
  EXPECT_EQ(y["partitions"][1]["firstLba"].as<std::uint64_t>(), 34816u);
  EXPECT_EQ(y["root"]["osRelease"]["VERSION_ID"].as<std::string>(), "12");
  EXPECT_EQ(y["root"]["packages"][1]["name"].as<std::string>(), "base-files");
  EXPECT_EQ(y["boot"]["kernels"][0]["verityRootHash"].as<std::string>(), "abcd");
  EXPECT_EQ(y["boot"]["kernels"][1]["verityRootHash"].as<std::string>(), "00ff");
}

TEST_F(CliInspect, ExtractsTheEmbeddedSbomIntoADirectoryOrAFile) {
  const std::string sbom = "{\"spdxVersion\": \"SPDX-2.3\", \"packages\": []}\n";
  const auto into_cwd = inspect({disk_.string(), "--extract-sbom"});
  ASSERT_EQ(into_cwd.exit_code, 0) << into_cwd.err;
  EXPECT_THAT(into_cwd.out, HasSubstr("SBOM: /usr/share/sbom/img-1.0.spdx.json\n"));
  EXPECT_EQ(tests::support::read_whole_file(cwd() / "img-1.0.spdx.json"), sbom);
  const fs::path dir = scratch_.path() / "out";
  fs::create_directories(dir);
  const auto into_dir = inspect({disk_.string(), "--format", "json", "--extract-sbom", dir.string()});
  ASSERT_EQ(into_dir.exit_code, 0) << into_dir.err;
  EXPECT_EQ(tests::support::read_whole_file(dir / "img-1.0.spdx.json"), sbom);
  EXPECT_EQ(nlohmann::json::parse(into_dir.out)["sbom"], "/usr/share/sbom/img-1.0.spdx.json");
  const auto into_file = inspect({disk_.string(), "--extract-sbom=" + (dir / "named.json").string()});
  ASSERT_EQ(into_file.exit_code, 0) << into_file.err;
  EXPECT_EQ(tests::support::read_whole_file(dir / "named.json"), sbom);
}

TEST_F(CliInspect, WhatIsNotReadYetOrNotAnImageIsOneClearError) {
  const auto no_dir = inspect({disk_.string(), "--extract-sbom=" + (scratch_.path() / "missing").string()});
  EXPECT_EQ(no_dir.exit_code, 2);
  EXPECT_THAT(no_dir.err, HasSubstr("not a directory, nor a *.json file name"));
  const auto format = inspect({disk_.string(), "--format", "xml"});
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_THAT(format.err, HasSubstr("Unknown --format 'xml': expected text, json or yaml"));
  const auto dir = inspect({dir_->path().string()});
  EXPECT_EQ(dir.exit_code, 2);
  EXPECT_THAT(dir.err, HasSubstr("it is not a regular file"));
  const fs::path vmdk = dir_->path() / "disk.vmdk";
  write_file(vmdk, std::string("KDMV", 4) + std::string(4096, '\0'));
  const auto v = inspect({vmdk.string()});
  EXPECT_NE(v.exit_code, 0);
  EXPECT_THAT(v.err, HasSubstr("Failed to read a partition table in 'disk.vmdk'"));
  EXPECT_THAT(v.err, HasSubstr("a bare file system, a vhd or vmdk image is not supported yet"));
}

// An installer ISO: its volume, the packages its lockfile pins, its GRUB
// configuration and the kernel it boots, as text and as JSON.
TEST_F(CliInspect, PrintsAnIsoMediumsVolumeBootSetupAndPackages) {
  const fs::path iso = make_iso(scratch_.path(), kIsoManifest);
  const auto text = inspect({iso.string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("ISO 9660 medium: volume 'OIC_TEST_ISO', "));
  EXPECT_THAT(text.out, HasSubstr("Packages of the installer's lockfile (2):\n  bash 5.2.15 amd64\n  zlib1g 1:1.2.13 amd64\n"));
  EXPECT_THAT(text.out, HasSubstr("  partition 0  /boot/grub/grub.cfg"));
  EXPECT_THAT(text.out, HasSubstr("  /images/vmlinuz  (/boot/grub/grub.cfg)\n    command line: console=ttyS0 quiet\n"));
  EXPECT_THAT(text.out, Not(HasSubstr("Partition table")));
  const auto json = inspect({iso.string(), "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json report = nlohmann::json::parse(json.out);
  EXPECT_EQ(report["partitionTable"]["type"], "iso9660");
  EXPECT_EQ(report["partitionTable"]["id"], "OIC_TEST_ISO");
  EXPECT_TRUE(report["partitions"].empty());
  ASSERT_EQ(report["root"]["packages"].size(), 2u) << json.out;
  EXPECT_EQ(report["root"]["packages"][1]["name"], "zlib1g");
  EXPECT_EQ(report["boot"]["kernels"][0]["commandLine"], "console=ttyS0 quiet");
}

// A compressed qcow2 of the disk, as the build writes one: made raw in the
// sandbox and read as that raw disk, the same report as the raw image's.
TEST_F(CliInspect, AQcow2ImageGivesTheRawImagesReport) {
  if (!fs::exists("/usr/bin/qemu-img")) GTEST_SKIP() << "qemu-img is not installed (Debian package qemu-utils)";
  const fs::path qcow2 = dir_->path() / "same.qcow2";
  run_ok({"/usr/bin/qemu-img", "convert", "-q", "-c", "-f", "raw", "-O", "qcow2", disk_.string(), qcow2.string()},
         dir_->path() / "scratch");
  const auto raw = inspect({disk_.string(), "--format", "json"});
  const auto q = inspect({qcow2.string(), "--format", "json"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  ASSERT_EQ(q.exit_code, 0) << q.err;
  nlohmann::json a = nlohmann::json::parse(raw.out);
  nlohmann::json b = nlohmann::json::parse(q.out);
  EXPECT_EQ(b["image"], qcow2.string());
  EXPECT_EQ(b["partitionTable"]["id"], kDiskGuid);
  EXPECT_EQ(b["root"]["packages"].size(), 2u);
  a.erase("image");
  b.erase("image");
  EXPECT_EQ(a, b);
  const auto text = inspect({qcow2.string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const auto raw_text = inspect({disk_.string()});
  EXPECT_EQ(text.out.substr(text.out.find('\n')), raw_text.out.substr(raw_text.out.find('\n')));
}

// A qcow2 with a backing file, one cut short and garbage after the magic:
// each refused with one message naming it.
TEST_F(CliInspect, AQcow2ImageItCannotReadAloneIsOneClearError) {
  if (!fs::exists("/usr/bin/qemu-img")) GTEST_SKIP() << "qemu-img is not installed (Debian package qemu-utils)";
  const fs::path base = dir_->path() / "base.qcow2";
  run_ok({"/usr/bin/qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", disk_.string(), base.string()},
         dir_->path() / "scratch");
  const fs::path overlay = dir_->path() / "overlay.qcow2";
  run_ok({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base.string(), overlay.string()},
         dir_->path() / "scratch");
  const auto backed = inspect({overlay.string()});
  EXPECT_NE(backed.exit_code, 0);
  EXPECT_THAT(backed.err, HasSubstr("Failed to read the qcow2 image 'overlay.qcow2': it has a backing file ('" +
                                    base.string() + "')"));
  const fs::path cut = dir_->path() / "cut.qcow2";
  fs::copy_file(base, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, 256 * 1024);
  const auto truncated = inspect({cut.string()});
  EXPECT_NE(truncated.exit_code, 0);
  EXPECT_THAT(truncated.err, HasSubstr("Failed to read the qcow2 image 'cut.qcow2': it is truncated or damaged"));
  const fs::path garbage = dir_->path() / "garbage.qcow2";
  write_file(garbage, std::string("QFI\xfb", 4) + std::string(4096, '\0'));
  const auto bad = inspect({garbage.string()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("Failed to read the qcow2 image 'garbage.qcow2': qemu-img info exited with status 1"));
}

}  // namespace
