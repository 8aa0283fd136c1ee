// Running host tools as children, and which packages a request needs.
#include "stages/diskmaker/tools.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::diskmaker {
namespace {

using ::testing::HasSubstr;
using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(RunTool, FeedsStdinAndCapturesStdout) {
  const ToolOutcome outcome = run_tool({.argv = {"cat"}, .input = std::string(200000, 'x')});
  EXPECT_TRUE(outcome.ok());
  EXPECT_EQ(outcome.output.size(), 64u * 1024);  // only the tail is kept
}

TEST(RunTool, SendsStdoutToTheGivenFd) {
  char path[] = "/tmp/diskmaker-tools-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  EXPECT_TRUE(run_tool({.argv = {"echo", "into the file"}, .stdout_fd = fd}).ok());
  char buffer[32] = {};
  EXPECT_EQ(::pread(fd, buffer, sizeof buffer - 1, 0), 14);
  EXPECT_STREQ(buffer, "into the file\n");
  ::close(fd);
}

TEST(RunToolChecked, NamesTheStepTheProgramAndItsStatus) {
  try {
    run_tool_checked({.argv = {"ls", "/nonexistent-diskmaker-path"}}, "write the partition table");
    FAIL() << "a failing tool was accepted";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("Failed to write the partition table: ls exited with status 2\n"
                                          "ls: cannot access '/nonexistent-diskmaker-path'"));
  }
}

TEST(FindTool, NamesTheDebianPackageOfAMissingTool) {
  if (locate_tool("mkfs.xfs")) GTEST_SKIP() << "xfsprogs is installed here";
  try {
    find_tool("mkfs.xfs");
    FAIL() << "found a missing tool";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("'mkfs.xfs'"));
    EXPECT_THAT(e.hint(), HasSubstr("xfsprogs"));
  }
}

struct ToolsCase {
  std::vector<std::string> fs_types;
  Pairs artifacts;
  Pairs expected;
};

class DiskmakerTools : public ::testing::TestWithParam<ToolsCase> {};

TEST_P(DiskmakerTools, ListsEachProgramOnceWithItsPackage) {
  EXPECT_EQ(diskmaker_tools(GetParam().fs_types, GetParam().artifacts), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Requests, DiskmakerTools,
    ::testing::Values(
        ToolsCase{{"ext4"}, {{"raw", "none"}},
                  {{"sfdisk", "fdisk"}, {"mkfs.ext4", "e2fsprogs"}, {"debugfs", "e2fsprogs"}}},
        ToolsCase{{"fat32", "ext4", "ext2", "swap", "none"},
                  {{"raw", "gz"}, {"qcow2", "xz"}, {"vhd", "zstd"}},
                  {{"sfdisk", "fdisk"}, {"mkfs.vfat", "dosfstools"}, {"mcopy", "mtools"},
                   {"mkfs.ext4", "e2fsprogs"}, {"debugfs", "e2fsprogs"}, {"mkswap", "util-linux"}, {"pigz", "pigz"},
                   {"qemu-img", "qemu-utils"}, {"xz", "xz-utils"}, {"zstd", "zstd"}}}));

}  // namespace
}  // namespace stage::diskmaker
