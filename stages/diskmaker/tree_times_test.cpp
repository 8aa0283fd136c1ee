// Reproducible file system times: the tree's mtimes clamped, the debugfs
// scripts, and a real ext4 file system made twice from trees touched at other
// times giving the same bytes.
#include "stages/diskmaker/tree_times.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/filesystems.hpp"
#include "stages/diskmaker/tools.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::diskmaker {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kTime = 1600000000;

void set_times(const fs::path& path, std::int64_t atime, std::int64_t mtime) {
  const struct timespec times[2] = {{static_cast<time_t>(atime), 0}, {static_cast<time_t>(mtime), 123}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

struct stat lstat_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

// A small tree: a file, a directory with a file, a link; every time `mtime`.
void make_tree(const fs::path& root, std::int64_t mtime) {
  fs::create_directories(root / "dir");
  std::ofstream(root / "file") << "one";
  std::ofstream(root / "dir/inner") << "two";
  fs::create_symlink("file", root / "link");
  for (const char* name : {"dir/inner", "file", "link", "dir", ""}) set_times(root / name, mtime, mtime);
}

base::UniqueFd open_dir(const fs::path& dir) { return base::UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY)); }

TEST(ClampTreeMtimes, LeavesNoMtimeLaterThanTheTimeAndKeepsEarlierOnes) {
  tests::TempDir tmp;
  const fs::path root = tmp.path() / "tree";
  make_tree(root, kTime + 1000);
  set_times(root / "dir/inner", kTime - 50, kTime - 50);
  clamp_tree_mtimes(open_dir(root).get(), root.string(), kTime);
  for (const char* name : {"file", "link", "dir", ""}) {
    EXPECT_EQ(lstat_of(root / name).st_mtim.tv_sec, kTime) << name;
    EXPECT_EQ(lstat_of(root / name).st_mtim.tv_nsec, 0) << name;
  }
  EXPECT_EQ(lstat_of(root / "dir/inner").st_mtim.tv_sec, kTime - 50) << "an earlier mtime stays";
  EXPECT_EQ(lstat_of(root / "file").st_atim.tv_sec, kTime + 1000) << "atimes are left alone";
}

TEST(UsedInodes, ReadsTheInodesDebugfsMarksInUse) {
  EXPECT_THAT(used_inodes("debugfs: testi <1>\nInode 1 is marked in use\nInode 2 is not in use\n"
                          "Inode 12 is marked in use\nInode x is marked in use\n"),
              ::testing::ElementsAre(1u, 12u));
  EXPECT_THAT(used_inodes(""), ::testing::IsEmpty());
}

TEST(InodeTimesScript, SetsCtimeAndAtimeOfEachInode) {
  EXPECT_EQ(inode_times_script({2, 11}, kTime),
            "sif <2> ctime @1600000000\nsif <2> atime @1600000000\n"
            "sif <11> ctime @1600000000\nsif <11> atime @1600000000\n");
}

// mkfs.ext4 -d of one tree at two times: its files' ctimes and atimes differ,
// the file systems do not.
std::string make_ext_image(const fs::path& dir, const fs::path& tree, const std::string& name) {
  const fs::path image = dir / name;
  const std::string seed = "0acdf9a2-6651-48da-b842-32d827b01ae3";
  const std::vector<std::string> argv = {"mkfs.ext4", "-q", "-F", "-U", "9a5c4f3e-1b2c-4d5e-8f90-123456789abc",
                                         "-E", "hash_seed=" + seed + ",root_owner=0:0", "-d", tree.string(),
                                         image.string(), "8M"};
  run_tool_checked({.argv = argv}, "make a test file system");
  base::UniqueFd fd(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  settle_ext_inode_times({.path = image.string(), .fd = fd.get(), .offset = 0, .scratch_fd = open_dir(dir).get()},
                         kTime);
  std::ifstream in(image, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SettleExtInodeTimes, TheSameTreeMadeAtAnotherTimeGivesTheSameBytes) {
  if (!locate_tool("mkfs.ext4") || !locate_tool("debugfs")) GTEST_SKIP() << "e2fsprogs is not installed";
  ::setenv("SOURCE_DATE_EPOCH", std::to_string(kTime).c_str(), 1);  // E2FSPROGS_FAKE_TIME for mkfs and debugfs
  tests::TempDir tmp;
  const fs::path tree = tmp.path() / "tree";
  make_tree(tree, kTime - 10);
  const std::string first = make_ext_image(tmp.path(), tree, "first.img");
  // The same content, its ctimes later (a chmod there and back) and atimes changed.
  ::sleep(1);
  fs::permissions(tree / "file", fs::perms::owner_exec, fs::perm_options::add);
  fs::permissions(tree / "file", fs::perms::owner_exec, fs::perm_options::remove);
  set_times(tree / "file", kTime + 77, kTime - 10);
  const std::string second = make_ext_image(tmp.path(), tree, "second.img");
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_EQ(first.size(), second.size());
  EXPECT_TRUE(first == second) << "the two file systems differ";
  if (first != second && std::getenv("OIC_KEEP_TEST_IMAGES")) fs::copy(tmp.path(), "/tmp/tree-times-kept", fs::copy_options::recursive);
}

}  // namespace
}  // namespace stage::diskmaker
