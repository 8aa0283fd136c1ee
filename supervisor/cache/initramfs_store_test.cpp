#include "supervisor/cache/initramfs_store.hpp"

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

constexpr const char* kInitrd = "boot/initrd.img-6.1.0-28-amd64";

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string key(char c) { return std::string(64, c); }

class InitramfsStore : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = initramfs_store_dir(dir_.path() / "cache");
    write_text(tree() / kInitrd, "initramfs bytes");
    fs::permissions(tree() / kInitrd, fs::perms(0600));
  }
  fs::path tree() const { return dir_.path() / "tree"; }

  tests::TempDir dir_;
  fs::path store_;
};

TEST_F(InitramfsStore, TheStoreIsPrivateToTheUser) {
  struct stat st {};
  ASSERT_EQ(::stat(store_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(store_, dir_.path() / "cache/initramfs");
}

TEST_F(InitramfsStore, KeepsTheBytesAndModeUnderTheKeyAndWhatMakingItTouchedBesideIt) {
  keep_initramfs(store_, key('a'), tree(), kInitrd, {"boot", "var/tmp"});
  EXPECT_EQ(read_text(store_ / key('a')), "initramfs bytes");
  struct stat st {};
  ASSERT_EQ(::lstat((store_ / key('a')).c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_text(store_ / (key('a') + ".touched")), "boot\nvar/tmp\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(store_), fs::directory_iterator()), 2) << "a temporary file is left";
}

TEST_F(InitramfsStore, RefusesATouchedPathOutsideTheTree) {
  for (const std::string bad : {"/etc", "../home", "var/../../x", "two\nlines", ""}) {
    EXPECT_THROW(keep_initramfs(store_, key('a'), tree(), kInitrd, {bad}), base::Error) << bad;
  }
  EXPECT_TRUE(fs::is_empty(store_));
}

TEST_F(InitramfsStore, RefusesALinkPlantedInTheTree) {
  write_text(dir_.path() / "secret", "the user's file");
  fs::remove(tree() / kInitrd);
  fs::create_symlink(dir_.path() / "secret", tree() / kInitrd);
  try {
    keep_initramfs(store_, key('a'), tree(), kInitrd);
    FAIL() << "a link was followed";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kSandboxViolation) << e.what();
  }
  fs::remove(tree() / kInitrd);
  fs::remove(tree() / "boot");
  fs::create_directories(dir_.path() / "elsewhere");
  write_text(dir_.path() / "elsewhere/initrd.img-6.1.0-28-amd64", "not in the tree");
  fs::create_directory_symlink(dir_.path() / "elsewhere", tree() / "boot");
  EXPECT_THROW(keep_initramfs(store_, key('a'), tree(), kInitrd), base::Error);
  EXPECT_THROW(keep_initramfs(store_, key('a'), tree(), "../secret"), base::Error);
  EXPECT_FALSE(fs::exists(store_ / key('a')));
}

TEST_F(InitramfsStore, RefusesWhatIsNotAKeyOrNotARegularFile) {
  EXPECT_THROW(keep_initramfs(store_, "../escape", tree(), kInitrd), base::Error);
  EXPECT_THROW(keep_initramfs(store_, key('A'), tree(), kInitrd), base::Error);
  EXPECT_THROW(keep_initramfs(store_, key('a'), tree(), "boot"), base::Error);
  EXPECT_TRUE(fs::is_empty(store_));
}

TEST_F(InitramfsStore, KeepsOnlyTheNewestAndAReuseMakesOneTheNewest) {
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  const std::string keys = "0123456789";
  for (std::size_t i = 0; i < kInitramfsKept; ++i) {
    keep_initramfs(store_, key(keys[i]), tree(), kInitrd);
    fs::last_write_time(store_ / key(keys[i]), old + std::chrono::seconds(i));
  }
  touch_initramfs(store_, key('0'));  // the oldest, reused: now the newest
  keep_initramfs(store_, key('a'), tree(), kInitrd);
  EXPECT_TRUE(fs::exists(store_ / key('0')));
  EXPECT_FALSE(fs::exists(store_ / key('1'))) << "the oldest one is kept";
  EXPECT_FALSE(fs::exists(store_ / (key('1') + ".touched")));
  EXPECT_TRUE(fs::exists(store_ / key('a')));
  EXPECT_EQ(static_cast<std::size_t>(std::distance(fs::directory_iterator(store_), fs::directory_iterator())),
            2 * kInitramfsKept);
}

TEST_F(InitramfsStore, CleanRemovesTheStore) {
  keep_initramfs(store_, key('a'), tree(), kInitrd);
  EXPECT_EQ(clean_initramfs_store(dir_.path() / "cache", true), std::vector<fs::path>{store_});
  EXPECT_TRUE(fs::exists(store_));
  EXPECT_EQ(clean_initramfs_store(dir_.path() / "cache", false), std::vector<fs::path>{store_});
  EXPECT_FALSE(fs::exists(store_));
  EXPECT_TRUE(clean_initramfs_store(dir_.path() / "cache", false).empty());
}

}  // namespace
}  // namespace supervisor
