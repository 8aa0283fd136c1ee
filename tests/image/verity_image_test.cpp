// A Debian 12 image with a read-only root on dm-verity
// (templates/debian12-verity.yml), built from this machine's Debian mirror:
// - read from outside: the root hash the build logged is in the UKI's
//   command line on the ESP, veritysetup verify accepts the root partition
//   against the hash partition with it, and / is mounted ro in fstab;
// - booted (QEMU TCG, OVMF): a probe prints on the serial console that / is
//   /dev/mapper/root, verified and read-only while /etc and /var are
//   writable, then the login prompt comes;
// - a copy with one byte changed in the data block of a file of / boots, and
//   reading that file fails (dm-verity returns an I/O error).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/image/disk_inspect.hpp"
#include "tests/image/image_workspace.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kBootTimeoutSeconds = 400;
constexpr const char* kProvider = "debian-debian12-x86_64";
constexpr const char* kProbeData = "/usr/share/oic-verity-probe/data";

std::string logged_root_hash(const std::string& log) {
  std::smatch m;
  static const std::regex pattern("dm-verity root hash ([0-9a-f]{64})");
  return std::regex_search(log, m, pattern) ? m[1].str() : "";
}

// "key=value" of the probe's serial console lines.
std::string probe_value(const std::string& console, const std::string& key) {
  std::smatch m;
  const std::regex pattern("oic-verity-probe: " + key + "=([^\\r\\n]*)");
  return std::regex_search(console, m, pattern) ? m[1].str() : "(no " + key + " line)";
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

class VerityImage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pre_ = check_preconditions();
    if (!pre_.met()) return;
    workspace_ = std::make_unique<ImageWorkspace>("oic-verity");
    build_ = workspace_->build(source_dir() / "tests/image/templates/debian12-verity.yml");
    std::cout << "[ image    ] build of the dm-verity image: " << build_.seconds << " s\n";
  }
  static void TearDownTestSuite() { workspace_.reset(); }

  void SetUp() override {
    if (!pre_.skip.empty()) GTEST_SKIP() << pre_.skip;
    ASSERT_TRUE(pre_.missing.empty()) << pre_.missing;
    ASSERT_FALSE(host_tool("veritysetup").empty()) << "veritysetup is not installed (cryptsetup-bin, .ci/packages)";
    ASSERT_EQ(build_.result.exit_code, 0) << build_.tail();
  }

  static ImageOutputs outputs() { return {workspace_->output_dir(kProvider, "Verity_Raw"), "oic-verity-1.0.0"}; }
  static fs::path scratch() { return workspace_->root() / "scratch"; }
  static std::vector<Partition> partitions() { return read_partition_table(outputs().raw(), scratch()); }

  // Boots `image` to its login prompt; returns the serial console.
  static std::string boot(const fs::path& image, const std::string& what) {
    const fs::path console = workspace_->root() / (what + ".console");
    const TimedRun run = workspace_->cli({"boot", image.string(), "--check", "--timeout",
                                          std::to_string(kBootTimeoutSeconds), "--serial-log", console.string()});
    std::cout << "[ image    ] boot of the " << what << " to login: " << run.seconds << " s\n";
    EXPECT_EQ(run.result.exit_code, 0) << "no login prompt: " << run.tail(80);
    return fs::exists(console) ? read_text(console) : "";
  }

  static inline Preconditions pre_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
  static inline TimedRun build_;
};

TEST_F(VerityImage, TheRootHashIsInTheUkiAndVerifiesTheRootPartition) {
  const std::string root_hash = logged_root_hash(build_.output());
  ASSERT_EQ(root_hash.size(), 64u) << "the build logged no root hash: " << build_.tail();
  const std::vector<Partition> table = partitions();
  ASSERT_EQ(table.size(), 4u);

  const FatReader esp(outputs().raw(), table[0].offset, scratch() / "esp");
  std::vector<std::string> ukis;
  for (const std::string& path : esp.list_tree()) {
    if (path.starts_with("/EFI/Linux/") && path.ends_with(".efi")) ukis.push_back(path);
  }
  ASSERT_EQ(ukis.size(), 1u) << "one UKI in /EFI/Linux";
  const std::optional<std::string> uki = esp.read_file(ukis[0]);
  ASSERT_TRUE(uki.has_value());
  EXPECT_THAT(*uki, HasSubstr("root=/dev/mapper/root ro roothash=" + root_hash +
                              " systemd.verity_root_data=PARTUUID=" + lower(table[1].uuid) +
                              " systemd.verity_root_hash=PARTUUID=" + lower(table[2].uuid)));
  EXPECT_THAT(*uki, ::testing::Not(HasSubstr("placeholder")));

  const fs::path data = scratch() / "root.img", hash = scratch() / "hash.img";
  const auto extract = [&](const Partition& p, const fs::path& to) {
    return run_tool({"dd", "if=" + outputs().raw().string(), "of=" + to.string(), "bs=1M",
                     "skip=" + std::to_string(p.offset >> 20), "count=" + std::to_string(p.size >> 20),
                     "status=none"},
                    scratch());
  };
  ASSERT_EQ(extract(table[1], data).exit_code, 0);
  ASSERT_EQ(extract(table[2], hash).exit_code, 0);
  const RunResult verify = run_tool({"veritysetup", "verify", data.string(), hash.string(), root_hash}, scratch());
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  fs::remove(data);
  fs::remove(hash);

  const Ext4Reader rootfs(outputs().raw(), table[1].offset, scratch() / "ext4");
  const std::vector<FstabEntry> fstab = parse_fstab(rootfs.read_file("/etc/fstab").value_or(""));
  const auto root = std::find_if(fstab.begin(), fstab.end(), [](const FstabEntry& e) { return e.mount_point == "/"; });
  ASSERT_NE(root, fstab.end());
  EXPECT_EQ(root->options, "ro");
}

TEST_F(VerityImage, BootsWithAVerifiedReadOnlyRootAndWritableState) {
  const std::string console = boot(outputs().raw(), "dm-verity image");
  EXPECT_EQ(probe_value(console, "status"), "verified") << console.substr(console.size() > 6000 ? console.size() - 6000 : 0);
  EXPECT_THAT(probe_value(console, "root"), HasSubstr("/dev/mapper/root options=ro"));
  EXPECT_EQ(probe_value(console, "usr"), "read-only");
  EXPECT_EQ(probe_value(console, "etc"), "writable");
  EXPECT_EQ(probe_value(console, "var"), "writable");
  EXPECT_EQ(probe_value(console, "read"), "ok");
}

// Runs after the boot above (definition order): it changes a copy.
TEST_F(VerityImage, AChangedByteOfTheRootFailsItsRead) {
  const std::vector<Partition> table = partitions();
  const Ext4Reader rootfs(outputs().raw(), table[1].offset, scratch() / "ext4");
  const RunResult bmap = run_tool({"debugfs", "-R", std::string("bmap ") + kProbeData + " 0",
                                   outputs().raw().string() + "?offset=" + std::to_string(table[1].offset)},
                                  scratch());
  ASSERT_EQ(bmap.exit_code, 0) << bmap.err;
  const std::uint64_t block = std::stoull(bmap.out);
  ASSERT_GT(block, 0u) << bmap.out;

  const fs::path copy = workspace_->root() / "tampered.raw";
  ASSERT_EQ(run_tool({"cp", "--sparse=always", outputs().raw().string(), copy.string()}, scratch()).exit_code, 0);
  {
    const int fd = ::open(copy.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    char byte = 0;
    const off_t at = static_cast<off_t>(table[1].offset + block * 4096 + 100);
    ASSERT_EQ(::pread(fd, &byte, 1, at), 1);
    byte = static_cast<char>(byte ^ 0x01);
    ASSERT_EQ(::pwrite(fd, &byte, 1, at), 1);
    ::close(fd);
  }
  const std::string console = boot(copy, "image with a changed byte");
  EXPECT_EQ(probe_value(console, "read"), "failed") << console.substr(console.size() > 6000 ? console.size() - 6000 : 0);
  EXPECT_THAT(console, HasSubstr("verity"));
  fs::remove(copy);
}

}  // namespace
}  // namespace tests::image
