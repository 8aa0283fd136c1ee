#include "live/root_filesystem.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "live/command.hpp"
#include "tests/support/temp_dir.hpp"

namespace live {
namespace {

std::uint64_t block_count(const std::filesystem::path& image) {
  const std::string out = run_command({"dumpe2fs", "-h", image.string()}).output;
  const auto at = out.find("Block count:");
  if (at == std::string::npos) throw std::runtime_error("dumpe2fs: " + out);
  return std::stoull(out.substr(at + 12));
}

TEST(LiveRootFilesystem, GrowsAnExt4FileSystemToItsDevice) {
  tests::TempDir dir;
  const auto image = dir.write("root.ext4", "");
  std::filesystem::resize_file(image, 16 << 20);
  ASSERT_EQ(run_command({"mkfs.ext4", "-q", "-b", "4096", image.string()}).exit_code, 0);
  EXPECT_EQ(block_count(image), 4096u);
  std::filesystem::resize_file(image, 48 << 20);
  grow_ext_filesystem(image.string());
  EXPECT_EQ(block_count(image), 3u * 4096);
}

TEST(LiveRootFilesystem, ReportsACheckThatFails) {
  tests::TempDir dir;
  const auto image = dir.write("root.ext4", std::string(1 << 20, '\0'));
  try {
    grow_ext_filesystem(image.string());
    FAIL() << "grew a file system that is not there";
  } catch (const base::Error& error) {
    EXPECT_NE(error.message().find("'e2fsck -fy " + image.string() + "' failed (exit code 8)"), std::string::npos)
        << error.message();
  }
}

}  // namespace
}  // namespace live
