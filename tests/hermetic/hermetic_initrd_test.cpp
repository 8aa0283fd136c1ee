// A whole `build` of an initrd image (imageType img) on the hermetic
// repository with every real stage: the installer configures the tree with
// no boot loader and no initramfs, root's startupScript comes from an
// additional file, and stage-isomaker packs the tree. The .img is read back
// with libarchive; the kernel beside it is the package's.
// The init, kernel and usermod of package oic-live/oic-boot are placeholders
// (make-debrepo.sh --installable): the image is read back, never booted; the
// image suite boots the debian12 initrd.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <regex>

#include "tests/repo/repo_harness.hpp"

namespace tests::hermetic {
namespace {

namespace fs = std::filesystem;
using repo::RepoWorld;

constexpr const char* kKernel = "vmlinuz-6.1.0-oic";

// The OS default an initrd template merges over: a bootloader section, as
// every shipped initrd default has, which does not apply.
constexpr const char* kInitrdDefaults = R"(image:
  name: debian12-x86_64-initrd
  version: "12.0.0"
target:
  os: debian
  dist: debian12
  arch: x86_64
  imageType: img
systemConfig:
  name: Default_Initrd
  bootloader:
    bootType: efi
    provider: systemd-boot
  packages:
    - oic-live
  kernel:
    name: none
    cmdline: "console=ttyS0"
)";

struct CpioEntry {
  std::string path;
  unsigned uid = 0, gid = 0, mode = 0;
  std::string symlink;
  std::string content;
  std::int64_t mtime = 0;
};

// Every entry of the (compressed) cpio, in archive order.
std::vector<CpioEntry> read_cpio(const fs::path& file) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_cpio(a.get());
  std::vector<CpioEntry> entries;
  if (archive_read_open_filename(a.get(), file.c_str(), 65536) != ARCHIVE_OK) {
    ADD_FAILURE() << file << ": " << archive_error_string(a.get());
    return entries;
  }
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    CpioEntry entry{archive_entry_pathname(e), static_cast<unsigned>(archive_entry_uid(e)),
                    static_cast<unsigned>(archive_entry_gid(e)), static_cast<unsigned>(archive_entry_mode(e)), "", ""};
    entry.mtime = archive_entry_mtime(e);
    if (const char* target = archive_entry_symlink(e)) entry.symlink = target;
    if (archive_entry_filetype(e) == AE_IFREG) {
      std::string data(static_cast<std::size_t>(archive_entry_size(e)), '\0');
      EXPECT_EQ(archive_read_data(a.get(), data.data(), data.size()), static_cast<la_ssize_t>(data.size()));
      entry.content = std::move(data);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

class HermeticInitrd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = std::make_unique<RepoWorld>(std::vector<std::string>{"--installable"});
    repo::write_file(world_->root() / "config/osv/debian/debian12/imageconfigs/defaultconfigs/default-initrd-x86_64.yml",
                     kInitrdDefaults);
    std::string text = repo::slurp(world_->template_path());
    text = std::regex_replace(text, std::regex("imageType: raw"), "imageType: img");
    text = std::regex_replace(text, std::regex("repo-test"), "live-test");
    text = std::regex_replace(text, std::regex("  packages:\n(    - .*\n)+"), "  packages:\n    - oic-boot\n");
    text += "  additionalFiles:\n    - local: start.sh\n      final: /root/start\n"
            "  users:\n    - name: root\n      startupScript: /root/start\n";
    tmpl_ = world_->root() / "live.yml";
    const fs::path& tmpl = tmpl_;
    repo::write_file(tmpl, text);
    repo::write_file(world_->root() / "start.sh", "#!/bin/sh\necho started\n");
    fs::permissions(world_->root() / "start.sh", fs::perms(0755));
    build_ = world_->full_cli({"build", tmpl.string()});
    dir_ = world_->root() / "work/debian-debian12-x86_64/imagebuild/live-test";
    if (build_.exit_code == 0) entries_ = read_cpio(dir_ / "live-test-1.0.0.img");
    for (const CpioEntry& e : entries_) by_path_[e.path] = &e;
  }
  static void TearDownTestSuite() { world_.reset(); }

  void SetUp() override { ASSERT_EQ(build_.exit_code, 0) << build_.out << build_.err; }

  static const CpioEntry* entry(const std::string& path) {
    const auto it = by_path_.find(path);
    EXPECT_NE(it, by_path_.end()) << path << " is not in the initrd";
    return it == by_path_.end() ? nullptr : it->second;
  }

  static inline std::unique_ptr<RepoWorld> world_;
  static inline repo::CliResult build_;
  static inline fs::path dir_, tmpl_;
  static inline std::vector<CpioEntry> entries_;
  static inline std::map<std::string, const CpioEntry*> by_path_;
};

TEST_F(HermeticInitrd, InstallThenMakeInitrdRanAndTheBootloaderSectionWasSaidNotToApply) {
  for (const char* job : {"[install] started (installer", "[make-initrd] started (isomaker"}) {
    EXPECT_NE(build_.out.find(job), std::string::npos) << job << "\n" << build_.out;
  }
  EXPECT_EQ(build_.out.find("make-disk"), std::string::npos) << build_.out;
  const std::string all = build_.out + build_.err;
  const std::string note = "systemConfig.bootloader does not apply to an initrd image";
  const std::size_t first = all.find(note);
  EXPECT_NE(first, std::string::npos) << all;
  EXPECT_EQ(all.find(note, first + 1), std::string::npos) << "said once";
}

TEST_F(HermeticInitrd, PublishesTheImageTheKernelBesideItAndTheBuildsRecords) {
  for (const std::string name : {"live-test-1.0.0.img", kKernel, "live-test-1.0.0.spdx.json",
                                 "live-test-1.0.0.lock.json", "live-test-1.0.0.template.yml", "SHA256SUMS"}) {
    EXPECT_TRUE(fs::is_regular_file(dir_ / name)) << name;
  }
  EXPECT_EQ(repo::slurp(dir_ / kKernel), "placeholder kernel of the hermetic tests\n");
  const std::string sums = repo::slurp(dir_ / "SHA256SUMS");
  EXPECT_NE(sums.find("  live-test-1.0.0.img\n"), std::string::npos) << sums;
  EXPECT_NE(sums.find(std::string("  ") + kKernel + "\n"), std::string::npos) << sums;
  EXPECT_FALSE(fs::exists(dir_ / "live-test-1.0.0.raw"));
}

TEST_F(HermeticInitrd, RootsLoginShellIsItsStartupScriptPlacedAsAnAdditionalFile) {
  const CpioEntry* passwd = entry("etc/passwd");
  ASSERT_NE(passwd, nullptr);
  EXPECT_EQ(passwd->content, "root:x:0:0:root:/root:/root/start\n");
  const CpioEntry* start = entry("root/start");
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->content, "#!/bin/sh\necho started\n");
  EXPECT_EQ(start->mode & 07777, 0755u);
  // The user step ran the target's usermod (a template user without a password is locked).
  const CpioEntry* locked = entry("var/lib/oic-live/locked");
  ASSERT_NE(locked, nullptr);
  EXPECT_EQ(locked->content, "root\n");
}

TEST_F(HermeticInitrd, EntriesAreSortedOwnedByRootWithAnInitLinkAndNoKernelOrBootLoader) {
  ASSERT_FALSE(entries_.empty());
  std::vector<std::string> paths;
  for (const CpioEntry& e : entries_) paths.push_back(e.path);
  EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end())) << ::testing::PrintToString(paths);
  for (const CpioEntry& e : entries_) {
    EXPECT_EQ(e.uid, 0u) << e.path;
    EXPECT_EQ(e.gid, 0u) << e.path;
  }
  const CpioEntry* init = entry("init");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->symlink, "sbin/init");
  EXPECT_NE(entry("usr/sbin/init"), nullptr);
  EXPECT_EQ(by_path_.count(std::string("boot/") + kKernel), 0u) << "the kernel sits beside the initrd, not in it";
  for (const std::string& path : paths) {
    EXPECT_FALSE(path.starts_with("boot/efi") || path.starts_with("boot/initrd") || path == "etc/fstab" ||
                 path.starts_with("loader"))
        << path << ": no boot loader, initramfs or fstab in an initrd image";
  }
}

// Last: it builds again. The same inputs are up to date; a rebuild of the same
// lockfile gives the same bytes (the clamp time is derived from it); with
// SOURCE_DATE_EPOCH set, no entry is newer than it.
TEST_F(HermeticInitrd, TheBuildRecordHoldsARebuildIsTheSameBytesAndSourceDateEpochClamps) {
  const fs::path img = dir_ / "live-test-1.0.0.img";
  const std::string first = repo::sha256_hex(img);
  const repo::CliResult again = world_->full_cli({"build", tmpl_.string()});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE((again.out + again.err).find("are up to date"), std::string::npos) << again.out << again.err;
  const repo::CliResult rebuild = world_->full_cli({"build", "--rebuild", tmpl_.string()});
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.out << rebuild.err;
  EXPECT_EQ(repo::sha256_hex(img), first) << "the same lockfile, the same initrd";
  ::setenv("SOURCE_DATE_EPOCH", "1000000000", 1);
  const repo::CliResult clamped = world_->full_cli({"build", "--rebuild", tmpl_.string()});
  ::unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_EQ(clamped.exit_code, 0) << clamped.out << clamped.err;
  const std::vector<CpioEntry> entries = read_cpio(img);
  ASSERT_FALSE(entries.empty());
  for (const CpioEntry& e : entries) EXPECT_LE(e.mtime, 1000000000) << e.path;
  EXPECT_NE(repo::sha256_hex(img), first);
}

}  // namespace
}  // namespace tests::hermetic
