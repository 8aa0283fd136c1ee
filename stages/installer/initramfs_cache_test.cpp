#include "stages/installer/initramfs_cache.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.hpp"
#include "stages/installer/test_files.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::mode_of;
using testing::slurp;
using testing::spit;

const KernelInfo kKernel{"6.1.0-28-amd64", "boot/vmlinuz-6.1.0-28-amd64", "boot/initrd.img-6.1.0-28-amd64"};
constexpr const char* kTool = "initramfs-tools";

class InitramfsCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/initramfs_cache_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    make_tree(tree());
    fs::create_directories(cache());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path tree(const std::string& name = "tree") const { return dir_ / name; }
  fs::path cache() const { return dir_ / "cache"; }

  static void make_tree(const fs::path& root) {
    spit(root / "boot/vmlinuz-6.1.0-28-amd64", "kernel");
    spit(root / "etc/fstab", "UUID=1 / ext4 defaults 0 1\n");
    spit(root / "usr/lib/modules/6.1.0-28-amd64/kernel/fs/ext4.ko", "module");
    fs::create_symlink("usr/lib", root / "lib");
    fs::create_directories(root / "var/tmp");
    const auto old = fs::file_time_type::clock::now() - std::chrono::hours(24);
    for (const char* dir : {"boot", "var/tmp"}) fs::last_write_time(root / dir, old);
  }

  std::string key_of(const fs::path& root, const InitramfsContents& contents = {}, std::int64_t epoch = -1) const {
    return initramfs_key(list_tree(root), kKernel, kTool, contents, epoch);
  }

  // Runs the cached path with a tool that writes `initrd` (and `also`, when
  // given) and, as mkinitramfs does, a work directory in /var/tmp it removes.
  InitramfsOutcome run(const fs::path& root, const std::string& initrd = "made", const std::string& also = "") {
    return make_or_reuse_initramfs(root, kKernel, kTool, {}, -1, cache(), [&] {
      ++made_;
      fs::create_directories(root / "var/tmp/mkinitramfs_XXXX");
      fs::remove(root / "var/tmp/mkinitramfs_XXXX");
      spit(root / kKernel.initrd_path, initrd);
      if (!also.empty()) spit(root / also, "written by a post-update hook");
    });
  }

  fs::path dir_;
  int made_ = 0;
};

TEST_F(InitramfsCacheTest, IdenticalTreesHaveOneKeyWhateverTheirTimes) {
  make_tree(tree("other"));
  const fs::file_time_type old = fs::file_time_type::clock::now() - std::chrono::hours(48);
  fs::last_write_time(tree("other") / "etc/fstab", old);
  EXPECT_EQ(key_of(tree()), key_of(tree("other")));
  EXPECT_EQ(key_of(tree()).size(), 64u);
}

TEST_F(InitramfsCacheTest, ContentModeLinkTargetAndNewFilesChangeTheKey) {
  const std::string base = key_of(tree());
  spit(tree() / "etc/fstab", "UUID=2 / ext4 defaults 0 1\n");
  const std::string content = key_of(tree());
  EXPECT_NE(content, base);
  fs::permissions(tree() / "etc/fstab", fs::perms(0600));
  const std::string mode = key_of(tree());
  EXPECT_NE(mode, content);
  fs::remove(tree() / "lib");
  fs::create_symlink("usr/lib64", tree() / "lib");
  const std::string link = key_of(tree());
  EXPECT_NE(link, mode);
  spit(tree() / "etc/initramfs-tools/conf.d/compress", "COMPRESS=xz\n");
  EXPECT_NE(key_of(tree()), link);
}

TEST_F(InitramfsCacheTest, ToolKernelModulesVerityAndEpochChangeTheKey) {
  const TreeListing listing = list_tree(tree());
  const std::string base = initramfs_key(listing, kKernel, kTool, {}, -1);
  EXPECT_NE(initramfs_key(listing, kKernel, "dracut", {}, -1), base);
  KernelInfo other = kKernel;
  other.version = "6.1.0-29-amd64";
  EXPECT_NE(initramfs_key(listing, other, kTool, {}, -1), base);
  EXPECT_NE(initramfs_key(listing, kKernel, kTool, {.extra_modules = {"nvme"}}, -1), base);
  EXPECT_NE(initramfs_key(listing, kKernel, kTool, {.verity_root = true}, -1), base);
  EXPECT_NE(initramfs_key(listing, kKernel, kTool, {}, 1700000000), base);
}

TEST_F(InitramfsCacheTest, ChangedPathsNamesAddedRemovedAndChangedEntries) {
  const TreeListing before = list_tree(tree());
  spit(tree() / "etc/fstab", "changed\n");
  spit(tree() / "boot/initrd.img-6.1.0-28-amd64", "new");
  fs::remove(tree() / "usr/lib/modules/6.1.0-28-amd64/kernel/fs/ext4.ko");
  const TreeListing after = list_tree(tree(), &before);
  EXPECT_THAT(changed_paths(before, after), ElementsAre("boot/initrd.img-6.1.0-28-amd64", "etc/fstab",
                                                        "usr/lib/modules/6.1.0-28-amd64/kernel/fs/ext4.ko"));
}

// A later listing reads again what was rewritten, even at the same size.
TEST_F(InitramfsCacheTest, ALaterListingSeesAFileRewrittenAtTheSameSize) {
  const TreeListing before = list_tree(tree());
  spit(tree() / "boot/vmlinuz-6.1.0-28-amd64", "KERNEL");
  EXPECT_THAT(changed_paths(before, list_tree(tree(), &before)), ElementsAre("boot/vmlinuz-6.1.0-28-amd64"));
}

TEST_F(InitramfsCacheTest, TheFirstRunMakesItAndNamesItsKeyTheSecondCopiesTheKeptOne) {
  const std::string key = key_of(tree());
  const InitramfsOutcome first = run(tree());
  EXPECT_EQ(made_, 1);
  EXPECT_FALSE(first.reused);
  EXPECT_EQ(first.key, key) << "the key is that of the tree before the initramfs";
  EXPECT_TRUE(first.also_changed.empty());
  EXPECT_THAT(first.touched, ElementsAre("boot", "var/tmp"));

  // As the supervisor keeps it; other bytes show where the next one comes from.
  spit(cache() / key, "kept");
  ::chmod((cache() / key).c_str(), 0600);
  spit(cache() / (key + ".touched"), "var/tmp\n");
  make_tree(tree("second"));
  const auto before = fs::last_write_time(tree("second") / "var/tmp");
  const InitramfsOutcome second = run(tree("second"));
  EXPECT_EQ(made_, 1) << "the tool ran although the cache holds the tree's initramfs";
  EXPECT_TRUE(second.reused);
  EXPECT_EQ(second.key, key);
  EXPECT_EQ(slurp(tree("second") / kKernel.initrd_path), "kept");
  EXPECT_EQ(mode_of(tree("second") / kKernel.initrd_path), 0600u);
  EXPECT_GT(fs::last_write_time(tree("second") / "var/tmp"), before) << "what the tool touched is not touched again";
}

TEST_F(InitramfsCacheTest, ATouchedListNamingAPathOutsideTheTreeIsAnError) {
  const std::string key = key_of(tree());
  spit(cache() / key, "kept");
  spit(cache() / (key + ".touched"), "../outside\n");
  EXPECT_THROW(run(tree()), base::Error);
}

TEST_F(InitramfsCacheTest, TouchedPathsAreTheUnchangedOnesWithANewTime) {
  const TreeListing before = list_tree(tree());
  fs::last_write_time(tree() / "etc/fstab", fs::file_time_type::clock::now());
  spit(tree() / "boot/vmlinuz-6.1.0-28-amd64", "other kernel");  // changed, not touched
  fs::create_directories(tree() / "usr/work");
  fs::remove(tree() / "usr/work");
  const TreeListing after = list_tree(tree(), &before);
  EXPECT_THAT(touched_paths(before, after), ElementsAre("etc/fstab", "usr"));
}

TEST_F(InitramfsCacheTest, AToolThatAlsoWritesElsewhereIsNotKept) {
  const InitramfsOutcome outcome = run(tree(), "made", "boot/efi/copy-of-initrd");
  EXPECT_EQ(made_, 1);
  EXPECT_TRUE(outcome.key.empty());
  EXPECT_THAT(outcome.also_changed, ElementsAre("boot/efi", "boot/efi/copy-of-initrd"));
}

TEST_F(InitramfsCacheTest, WithoutACacheOrWithoutAToolNothingIsHashed) {
  const InitramfsOutcome outcome = make_or_reuse_initramfs(tree(), kKernel, kTool, {}, -1, std::nullopt, [&] { ++made_; });
  EXPECT_EQ(made_, 1);
  EXPECT_TRUE(outcome.key.empty());
  const InitramfsOutcome none = make_or_reuse_initramfs(tree(), kKernel, "none", {}, -1, cache(), [&] { ++made_; });
  EXPECT_EQ(made_, 2);
  EXPECT_TRUE(none.key.empty());
}

TEST_F(InitramfsCacheTest, AnEntryWithoutItsTouchedListIsAMiss) {
  spit(cache() / key_of(tree()), "kept, its list being removed");
  const InitramfsOutcome outcome = run(tree());
  EXPECT_EQ(made_, 1);
  EXPECT_FALSE(outcome.reused);
  EXPECT_EQ(slurp(tree() / kKernel.initrd_path), "made");
}

TEST_F(InitramfsCacheTest, ACacheEntryThatIsNotARegularFileIsAnError) {
  spit(cache() / (key_of(tree()) + ".touched"), "");
  fs::create_directories(cache() / key_of(tree()));
  EXPECT_THROW(run(tree()), base::Error);
  EXPECT_EQ(made_, 0);
}

TEST_F(InitramfsCacheTest, ACacheEntryThatIsALinkIsNotFollowed) {
  spit(dir_ / "elsewhere", "not the cache's");
  spit(cache() / (key_of(tree()) + ".touched"), "");
  fs::create_symlink(dir_ / "elsewhere", cache() / key_of(tree()));
  EXPECT_THROW(run(tree()), base::Error);
  EXPECT_FALSE(fs::exists(tree() / kKernel.initrd_path));
}

TEST_F(InitramfsCacheTest, OutsideASandboxNoProcessIsEnded) {
  ASSERT_NE(::getpid(), 1);
  EXPECT_FALSE(end_stray_processes());
}

}  // namespace
}  // namespace stage::installer
