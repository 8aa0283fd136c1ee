// dm-verity: the request's checks, veritysetup's argv and output, and the
// root hash put in place of the UKI's placeholder. The format itself runs
// in diskmaker_sandbox (real veritysetup, real disk).
#include "stages/diskmaker/verity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kPlaceholder = "placeholder-0123456789abcdef-0123456789abcdef-0123456789abcdefXX";
const std::string kHash(64, 'a');

DiskLayout verity_layout() {
  DiskLayout layout;
  layout.table = TableType::kGpt;
  layout.partitions = {
      {.id = "boot", .fs_type = "fat32", .mount_point = "/boot/efi"},
      {.id = "rootfs", .fs_type = "ext4", .mount_point = "/", .fs_uuid = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"},
      {.id = "roothashmap", .fs_type = "none", .mount_point = "none",
       .part_uuid = "11111111-2222-4333-8444-555555555555"},
  };
  return layout;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const base::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Verity, AcceptsARootAndAnUnmountedHashPartition) {
  EXPECT_NO_THROW(check_verity({"rootfs", "roothashmap"}, verity_layout()));
}

TEST(Verity, RefusesWhatCannotCarryAVerityRoot) {
  DiskLayout layout = verity_layout();
  EXPECT_THAT(message_of([&] { check_verity({"rootfs", "missing"}, layout); }),
              HasSubstr("hash partition 'missing' is not in the layout"));
  EXPECT_THAT(message_of([&] { check_verity({"boot", "roothashmap"}, layout); }),
              HasSubstr("data partition 'boot' must be the ext file system mounted at /"));
  EXPECT_THAT(message_of([&] { check_verity({"rootfs", "rootfs"}, layout); }), HasSubstr("both 'rootfs'"));
  layout.partitions[2].fs_type = "ext4";
  EXPECT_THAT(message_of([&] { check_verity({"rootfs", "roothashmap"}, layout); }),
              HasSubstr("hash partition 'roothashmap' must be unmounted and have no file system"));
  layout = verity_layout();
  layout.table = TableType::kMbr;
  EXPECT_THAT(message_of([&] { check_verity({"rootfs", "roothashmap"}, layout); }), HasSubstr("GPT"));
}

TEST(Verity, FormatIsDeterministicFromThePartitionsIds) {
  const DiskLayout layout = verity_layout();
  EXPECT_THAT(veritysetup_format_argv(layout.partitions[1], layout.partitions[2], "d", "h"),
              ElementsAre("veritysetup", "format", "--hash=sha256", "--data-block-size=4096",
                          "--hash-block-size=4096", "--salt=0f1e2d3c4b5a49788695a4b3c2d1e0f9",
                          "--uuid=11111111-2222-4333-8444-555555555555", "d", "h"));
}

TEST(Verity, ReadsTheRootHashOfVeritysetupsOutput) {
  const std::string out =
      "VERITY header information for h.img\nUUID:            \t2a17\nHash type:       \t1\n"
      "Root hash:      \t2B1DB23B321AE9A4C61299C2B4218E9AC39799AD4F40ED09379FB0673676D5BE\n"
      "Hash device size: \t532480 [bytes]\n";
  EXPECT_EQ(parse_root_hash(out), "2b1db23b321ae9a4c61299c2b4218e9ac39799ad4f40ed09379fb0673676d5be");
  EXPECT_THAT(message_of([] { parse_root_hash("UUID: x\n"); }), HasSubstr("no 'Root hash:' line"));
  EXPECT_THAT(message_of([] { parse_root_hash("Root hash: 12zz\n"); }), HasSubstr("not 64 hex digits"));
}

class PlaceholderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "diskmaker-verity-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "esp/EFI/Linux");
    fs::create_directories(base_ / "elsewhere");
    dir_ = base::UniqueFd(::open((base_ / "esp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override { fs::remove_all(base_); }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path base_;
  base::UniqueFd dir_;
};

TEST_F(PlaceholderTest, ReplacesItInEachFileThatHoldsIt) {
  const std::string uki = std::string("MZ\0\0cmdline roothash=", 22) + std::string(kPlaceholder) + " ro\n";
  std::ofstream(base_ / "esp/EFI/Linux/linux.efi", std::ios::binary) << uki;
  std::ofstream(base_ / "esp/EFI/BOOTX64.EFI") << "systemd-boot";
  ::chmod((base_ / "esp/EFI/Linux/linux.efi").c_str(), 0640);
  EXPECT_THAT(replace_root_hash_placeholder(dir_.get(), kPlaceholder, kHash), ElementsAre("EFI/Linux/linux.efi"));
  EXPECT_EQ(read(base_ / "esp/EFI/Linux/linux.efi"), std::string("MZ\0\0cmdline roothash=", 22) + kHash + " ro\n");
  EXPECT_EQ(read(base_ / "esp/EFI/BOOTX64.EFI"), "systemd-boot");
  EXPECT_EQ(fs::status(base_ / "esp/EFI/Linux/linux.efi").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_FALSE(fs::exists(base_ / "esp/EFI/Linux/.linux.efi.verity"));
}

TEST_F(PlaceholderTest, LeavesLinksAndWhatTheyNameAlone) {
  std::ofstream(base_ / "elsewhere/outside.efi") << kPlaceholder;
  fs::create_symlink(base_ / "elsewhere/outside.efi", base_ / "esp/EFI/link.efi");
  fs::create_hard_link(base_ / "elsewhere/outside.efi", base_ / "esp/EFI/hard.efi");
  EXPECT_THAT(replace_root_hash_placeholder(dir_.get(), kPlaceholder, kHash), ElementsAre("EFI/hard.efi"));
  EXPECT_EQ(read(base_ / "elsewhere/outside.efi"), kPlaceholder) << "a hard link's other name was changed";
  EXPECT_EQ(read(base_ / "esp/EFI/hard.efi"), kHash);
  EXPECT_TRUE(fs::is_symlink(base_ / "esp/EFI/link.efi"));
}

TEST_F(PlaceholderTest, RefusesAFileHoldingItTwice) {
  std::ofstream(base_ / "esp/EFI/Linux/linux.efi") << kPlaceholder << " " << kPlaceholder;
  EXPECT_THAT(message_of([&] { replace_root_hash_placeholder(dir_.get(), kPlaceholder, kHash); }),
              HasSubstr("'EFI/Linux/linux.efi': it holds the root hash placeholder more than once"));
}

}  // namespace
}  // namespace stage::diskmaker
