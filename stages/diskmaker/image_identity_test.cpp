// qemu-img's random identifiers replaced by derived ones: two conversions of
// one disk differ before and are the same bytes after, qemu-img still reads
// each file as the same disk (its own checks of the headers and checksums),
// and another disk identifier gives other bytes.
#include "stages/diskmaker/image_identity.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDiskId = "5f0c3a9e-8d1b-4c2e-9a7f-3b6d2e1c0f48";
constexpr std::int64_t kTime = 1700000000;

// Runs argv, its output discarded; returns the exit status (-1: not run).
int run(const std::vector<std::string>& argv) {
  std::string command;
  for (const auto& a : argv) command += "'" + a + "' ";
  const int status = std::system((command + ">/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// "" when equal, else where two files first differ (a byte-wise EXPECT_EQ
// of two disk images would print them).
std::string first_difference(const fs::path& a, const fs::path& b) {
  const std::string x = read_all(a), y = read_all(b);
  if (x == y) return "";
  std::size_t at = 0;
  while (at < x.size() && at < y.size() && x[at] == y[at]) ++at;
  return "sizes " + std::to_string(x.size()) + " and " + std::to_string(y.size()) + ", first difference at byte " +
         std::to_string(at);
}

class ImageIdentityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (run({"qemu-img", "--version"}) != 0) GTEST_SKIP() << "qemu-img (qemu-utils) is not installed";
    dir_ = fs::temp_directory_path() / ("diskmaker-identity-" + std::to_string(::getpid()) + "-" + GetParam());
    fs::create_directories(dir_);
    raw_ = dir_ / "disk.raw";
    std::ofstream out(raw_, std::ios::binary);
    for (int i = 0; i < 64 * 1024; ++i) out << "block " << i << '\n';  // about 0.7 MiB of data
    out.close();
    fs::resize_file(raw_, 8 << 20);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  fs::path convert(const std::string& name) {
    const fs::path out = dir_ / name;
    const std::string format = GetParam() == "vhd" ? "vpc" : GetParam();
    EXPECT_EQ(run({"qemu-img", "convert", "-q", "-f", "raw", "-O", format, raw_.string(), out.string()}), 0);
    return out;
  }
  void settle(const fs::path& file, const std::string& disk_id) {
    base::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    settle_image_identity(fd.get(), GetParam(), "disk." + GetParam(), {.disk_id = disk_id, .time = kTime});
  }

  fs::path dir_;
  fs::path raw_;
};

TEST_P(ImageIdentityTest, TwoConversionsBecomeTheSameBytesAndStayTheSameDisk) {
  const fs::path first = convert("first");
  const fs::path second = convert("second");
  ASSERT_NE(first_difference(first, second), "") << "qemu-img wrote no random identifier into a " << GetParam();
  settle(first, kDiskId);
  settle(second, kDiskId);
  EXPECT_EQ(first_difference(first, second), "");
  const std::string format = GetParam() == "vhd" ? "vpc" : GetParam();
  EXPECT_EQ(run({"qemu-img", "compare", "-q", "-f", "raw", "-F", format, raw_.string(), first.string()}), 0);
  if (GetParam() != "vhd") {  // qemu-img check knows no vpc
    EXPECT_EQ(run({"qemu-img", "check", "-q", "-f", format, first.string()}), 0);
  }
  if (GetParam() == "vmdk") {  // the descriptor names the file as it is published
    EXPECT_NE(read_all(first).find("RW 16384 SPARSE \"disk.vmdk\"\n"), std::string::npos);
  }
}

TEST_P(ImageIdentityTest, AnotherDiskIdentifierGivesOtherBytes) {
  const fs::path first = convert("first");
  const fs::path second = convert("second");
  settle(first, kDiskId);
  settle(second, "0d9b6c1e-2f4a-4b8c-8e3d-7a5f1c2b9e60");
  EXPECT_NE(first_difference(first, second), "");
}

TEST_P(ImageIdentityTest, AFileOfAnotherFormatIsAnErrorNamingIt) {
  base::UniqueFd fd(::open(raw_.c_str(), O_RDWR | O_CLOEXEC));
  const std::string before = read_all(raw_);
  try {
    settle_image_identity(fd.get(), GetParam(), "disk.raw", {.disk_id = kDiskId, .time = kTime});
    ADD_FAILURE() << "a raw disk was taken for a " << GetParam();
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'disk.raw': it is not a " + GetParam()), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_all(raw_), before);
}

INSTANTIATE_TEST_SUITE_P(Formats, ImageIdentityTest, ::testing::Values("vhd", "vhdx", "vmdk", "vdi"),
                         [](const auto& info) { return info.param; });

// The vhd footer's time is the build time, counted from 2000-01-01.
TEST(VhdTime, IsTheBuildTime) {
  if (run({"qemu-img", "--version"}) != 0) GTEST_SKIP() << "qemu-img (qemu-utils) is not installed";
  const fs::path dir = fs::temp_directory_path() / ("diskmaker-vhd-time-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ASSERT_EQ(run({"qemu-img", "create", "-q", "-f", "vpc", (dir / "d.vhd").string(), "4M"}), 0);
  base::UniqueFd fd(::open((dir / "d.vhd").c_str(), O_RDWR | O_CLOEXEC));
  settle_image_identity(fd.get(), "vhd", "d.vhd", {.disk_id = kDiskId, .time = kTime});
  const std::string bytes = read_all(dir / "d.vhd");
  for (const std::size_t footer : {std::size_t{0}, bytes.size() - 512}) {
    std::uint32_t stamp = 0;
    for (int i = 0; i < 4; ++i) stamp = (stamp << 8) | static_cast<unsigned char>(bytes[footer + 24 + i]);
    EXPECT_EQ(stamp, kTime - 946684800) << "footer at " << footer;
  }
  fs::remove_all(dir);
}

// qemu-img writes the CID unpadded ("%x"): one in 16 is 7 digits or fewer.
TEST(VmdkCid, OfFewerThanEightDigitsIsReplacedWhole) {
  if (run({"qemu-img", "--version"}) != 0) GTEST_SKIP() << "qemu-img (qemu-utils) is not installed";
  const fs::path dir = fs::temp_directory_path() / ("diskmaker-vmdk-cid-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "d.vmdk";
  ASSERT_EQ(run({"qemu-img", "create", "-q", "-f", "vmdk", file.string(), "4M"}), 0);
  std::string bytes = read_all(file);
  // The descriptor (sector 1 on, its length in sectors at byte 36), NUL-padded.
  const std::size_t length = 512 * static_cast<unsigned char>(bytes[36]);
  std::string descriptor = bytes.substr(512, length);
  const std::size_t at = descriptor.find("\nCID=");
  ASSERT_NE(at, std::string::npos);
  descriptor.replace(at + 5, descriptor.find('\n', at + 1) - at - 5, "2a");
  descriptor.resize(length, '\0');
  bytes.replace(512, length, descriptor);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  ASSERT_EQ(run({"qemu-img", "check", "-q", "-f", "vmdk", file.string()}), 0);
  base::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CLOEXEC));
  settle_image_identity(fd.get(), "vmdk", "d.vmdk", {.disk_id = kDiskId, .time = kTime});
  const std::string settled = read_all(file);
  const std::size_t cid = settled.find("\nCID=");
  ASSERT_NE(cid, std::string::npos);
  EXPECT_EQ(settled.find('\n', cid + 1) - cid - 5, 8u) << settled.substr(cid, 20);
  EXPECT_NE(settled.find("\nparentCID=ffffffff\n"), std::string::npos);
  EXPECT_EQ(run({"qemu-img", "check", "-q", "-f", "vmdk", file.string()}), 0);
  fs::remove_all(dir);
}

TEST(ArtifactIdBytes, FollowTheDiskIdentifierAndTheLabel) {
  EXPECT_EQ(artifact_id_bytes(kDiskId, "vdi:image-uuid"), artifact_id_bytes(kDiskId, "vdi:image-uuid"));
  EXPECT_NE(artifact_id_bytes(kDiskId, "vdi:image-uuid"), artifact_id_bytes(kDiskId, "vdi:last-snapshot-uuid"));
  EXPECT_NE(artifact_id_bytes(kDiskId, "vdi:image-uuid"), artifact_id_bytes("other", "vdi:image-uuid"));
  // printf 'os-image-composer artifact id 1\nX\nL' | sha256sum: 7657c61474a9d912fe395225755480c1...,
  // its first 16 bytes with the version 4 and RFC 4122 variant bits set.
  const std::array<std::uint8_t, 16> expected = {0x76, 0x57, 0xc6, 0x14, 0x74, 0xa9, 0x49, 0x12,
                                                 0xbe, 0x39, 0x52, 0x25, 0x75, 0x54, 0x80, 0xc1};
  EXPECT_EQ(artifact_id_bytes("X", "L"), expected);
}

}  // namespace
}  // namespace stage::diskmaker
