// The initrd read back with libarchive: entries sorted, times clamped, owners
// and modes as stat(2) sees them, hard links kept with normalised inode
// numbers, a /init link added, the same bytes twice; and the kernel copied
// from inside the tree only.
#include "stages/isomaker/initrd.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/isomaker/output_files.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::isomaker {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kClamp = 1700000000;

struct ReadEntry {
  std::string path;
  mode_t mode = 0;
  std::int64_t mtime = 0;
  std::int64_t uid = 0;
  std::int64_t gid = 0;
  std::int64_t ino = 0;
  unsigned nlink = 0;
  std::string symlink;
  std::string hardlink;
  std::string data;
};

std::vector<ReadEntry> read_cpio(const fs::path& file) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_cpio(a);
  EXPECT_EQ(archive_read_open_filename(a, file.c_str(), 10240), ARCHIVE_OK) << archive_error_string(a);
  std::vector<ReadEntry> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    ReadEntry r{archive_entry_pathname(e), archive_entry_mode(e), archive_entry_mtime(e), archive_entry_uid(e),
                archive_entry_gid(e), archive_entry_ino64(e), archive_entry_nlink(e),
                archive_entry_symlink(e) ? archive_entry_symlink(e) : "",
                archive_entry_hardlink(e) ? archive_entry_hardlink(e) : "", ""};
    char buffer[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buffer, sizeof buffer)) > 0;) r.data.append(buffer, n);
    out.push_back(r);
  }
  archive_read_free(a);
  return out;
}

void set_mtime(const fs::path& path, std::int64_t seconds) {
  const timeval times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::lutimes(path.c_str(), times), 0) << path;
}

// usr/sbin/init, a hard link pair, a symlink, a fifo, an excluded cache.
struct Fixture {
  tests::TempDir dir;
  fs::path tree = dir.path() / "tree";
  fs::path out = dir.path() / "out";
  Fixture() {
    dir.write("tree/usr/sbin/init", "#!/bin/sh\n");
    fs::permissions(tree / "usr/sbin/init", fs::perms(0755));
    fs::create_symlink("usr/sbin", tree / "sbin");
    dir.write("tree/etc/hostname", "live\n");
    fs::permissions(tree / "etc/hostname", fs::perms(0600));
    dir.write("tree/usr/bin/a", "linked");
    fs::create_hard_link(tree / "usr/bin/a", tree / "usr/bin/z");
    fs::create_symlink("/usr/bin/a", tree / "usr/bin/b");
    ::mkfifo((tree / "run-fifo").c_str(), 0644);
    dir.write("tree/var/cache/apt/big", "cache");
    dir.write("tree/boot/vmlinuz-6.1.0-13-amd64", "kernel image");
    fs::create_symlink("/boot/vmlinuz-6.1.0-13-amd64", tree / "vmlinuz");
    fs::create_directories(out);
    set_mtime(tree / "etc/hostname", kClamp + 1000);
    set_mtime(tree / "usr/bin/a", kClamp - 50);
  }
  base::UniqueFd open(const fs::path& path) const { return base::UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY)); }

  // The initrd `spec` writes, committed; its result.
  WrittenFile write(InitrdSpec spec) const {
    const base::UniqueFd tree_fd = open(tree);
    const base::UniqueFd out_fd = open(out);
    PendingOutputs outputs(out_fd.get());
    const WrittenFile written = write_initrd(tree_fd.get(), spec, outputs);
    outputs.commit();
    return written;
  }
};

InitrdSpec spec_of(Compression compression = Compression::kGzip) {
  return {.excluded_paths = {"/var/cache"}, .compression = compression, .clamp_time = kClamp,
          .kernel_path = "/vmlinuz", .output_name = "live.img"};
}

const ReadEntry* find(const std::vector<ReadEntry>& entries, const std::string& path) {
  for (const auto& e : entries) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

TEST(Initrd, EntriesAreSortedAndExclusionsLeftOut) {
  Fixture f;
  f.write(spec_of());
  const auto entries = read_cpio(f.out / "live.img");
  std::vector<std::string> paths;
  for (const auto& e : entries) paths.push_back(e.path);
  const std::vector<std::string> expected = {"boot", "boot/vmlinuz-6.1.0-13-amd64", "etc", "etc/hostname", "init",
                                             "run-fifo", "sbin", "usr", "usr/bin", "usr/bin/a", "usr/bin/b",
                                             "usr/bin/z", "usr/sbin", "usr/sbin/init", "var", "vmlinuz"};
  EXPECT_EQ(paths, expected);
}

TEST(Initrd, TimesAreClampedOwnersAndModesKept) {
  Fixture f;
  f.write(spec_of());
  const auto entries = read_cpio(f.out / "live.img");
  for (const auto& e : entries) EXPECT_LE(e.mtime, kClamp) << e.path;
  EXPECT_EQ(find(entries, "etc/hostname")->mtime, kClamp);
  EXPECT_EQ(find(entries, "usr/bin/a")->mtime, kClamp - 50);
  const ReadEntry* hostname = find(entries, "etc/hostname");
  EXPECT_EQ(hostname->mode, S_IFREG | 0600);
  EXPECT_EQ(hostname->uid, ::getuid());
  EXPECT_EQ(hostname->gid, ::getgid());
  EXPECT_EQ(hostname->data, "live\n");
  EXPECT_EQ(find(entries, "usr/sbin/init")->mode, S_IFREG | 0755);
  EXPECT_TRUE(S_ISFIFO(find(entries, "run-fifo")->mode));
  EXPECT_EQ(find(entries, "usr/bin/b")->symlink, "/usr/bin/a");
}

TEST(Initrd, AddsInitLinkWhenTheTreeHasNone) {
  Fixture f;
  f.write(spec_of());
  const auto entries = read_cpio(f.out / "live.img");
  const ReadEntry* init = find(entries, "init");
  ASSERT_NE(init, nullptr);
  EXPECT_TRUE(S_ISLNK(init->mode));
  EXPECT_EQ(init->symlink, "sbin/init");
  EXPECT_EQ(init->uid, 0);
  EXPECT_EQ(init->mtime, kClamp);
}

TEST(Initrd, KeepsTheTreesOwnInit) {
  Fixture f;
  f.dir.write("tree/init", "#!/bin/sh\nexec /bin/sh\n");
  f.write(spec_of());
  const auto entries = read_cpio(f.out / "live.img");
  const ReadEntry* init = find(entries, "init");
  ASSERT_NE(init, nullptr);
  EXPECT_TRUE(S_ISREG(init->mode));
  EXPECT_EQ(init->data, "#!/bin/sh\nexec /bin/sh\n");
}

TEST(Initrd, RefusesATreeWithoutInit) {
  Fixture f;
  fs::remove(f.tree / "usr/sbin/init");
  try {
    f.write(spec_of());
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("/sbin/init"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(f.out / "live.img"));
  EXPECT_FALSE(fs::exists(f.out / ".live.img.partial"));
}

TEST(Initrd, HardLinksShareOneNormalisedInode) {
  Fixture f;
  f.write(spec_of());
  const auto entries = read_cpio(f.out / "live.img");
  const ReadEntry* a = find(entries, "usr/bin/a");
  const ReadEntry* z = find(entries, "usr/bin/z");
  EXPECT_EQ(a->ino, z->ino);
  EXPECT_EQ(a->nlink, 2u);
  EXPECT_EQ(z->hardlink, "usr/bin/a");
  std::map<std::int64_t, int> inodes;
  for (const auto& e : entries) ++inodes[e.ino];
  EXPECT_EQ(inodes.size(), entries.size() - 1);  // only the pair shares one
  EXPECT_EQ(inodes.begin()->first, 1);
  EXPECT_EQ(inodes.rbegin()->first, static_cast<std::int64_t>(entries.size() - 1));
}

TEST(Initrd, SameTreeGivesTheSameBytes) {
  for (const Compression c : {Compression::kGzip, Compression::kZstd, Compression::kXz, Compression::kNone}) {
    Fixture f;
    const WrittenFile first = f.write(spec_of(c));
    // Another copy of the tree: other inode numbers, same content.
    fs::rename(f.tree, f.dir.path() / "old");
    fs::remove(f.dir.path() / "old/run-fifo");
    fs::copy(f.dir.path() / "old", f.tree, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    ::mkfifo((f.tree / "run-fifo").c_str(), 0644);
    fs::remove(f.tree / "usr/bin/z");
    fs::create_hard_link(f.tree / "usr/bin/a", f.tree / "usr/bin/z");
    set_mtime(f.tree / "etc/hostname", kClamp + 5000);
    set_mtime(f.tree / "usr/bin/a", kClamp - 50);
    const WrittenFile second = f.write(spec_of(c));
    EXPECT_EQ(first.sha256, second.sha256) << static_cast<int>(c);
    EXPECT_EQ(first.size, second.size);
    EXPECT_EQ(read_cpio(f.out / "live.img").size(), 16u) << static_cast<int>(c);
  }
}

TEST(Initrd, CopiesTheKernelResolvedInsideTheTree) {
  Fixture f;
  const base::UniqueFd tree_fd = f.open(f.tree);
  const base::UniqueFd out_fd = f.open(f.out);
  PendingOutputs outputs(out_fd.get());
  const WrittenFile kernel = copy_kernel(tree_fd.get(), "/vmlinuz", outputs);
  EXPECT_FALSE(fs::exists(f.out / "vmlinuz"));  // not before the commit
  outputs.commit();
  EXPECT_EQ(kernel.name, "vmlinuz");
  EXPECT_EQ(kernel.size, 12u);
  EXPECT_EQ(f.dir.read("out/vmlinuz"), "kernel image");
}

TEST(Initrd, KernelLinksDoNotLeaveTheTree) {
  Fixture f;
  f.dir.write("outside/vmlinuz-evil", "host file");
  fs::create_symlink(f.dir.path() / "outside/vmlinuz-evil", f.tree / "boot/vmlinuz-evil");
  const base::UniqueFd tree_fd = f.open(f.tree);
  const base::UniqueFd out_fd = f.open(f.out);
  PendingOutputs outputs(out_fd.get());
  EXPECT_THROW(copy_kernel(tree_fd.get(), "/boot/vmlinuz-evil", outputs), base::Error);
  EXPECT_THROW(copy_kernel(tree_fd.get(), "/../outside/vmlinuz-evil", outputs), base::Error);
  EXPECT_THROW(copy_kernel(tree_fd.get(), "/boot", outputs), base::Error);
}

TEST(Initrd, ChecksTheSpecBeforeWriting) {
  InitrdSpec spec = spec_of();
  spec.output_name = "../x.img";
  EXPECT_THROW(check_initrd_spec(spec), base::Error);
  spec = spec_of();
  spec.excluded_paths = {"var/cache"};
  EXPECT_THROW(check_initrd_spec(spec), base::Error);
  spec.excluded_paths = {"/"};
  EXPECT_THROW(check_initrd_spec(spec), base::Error);
  spec.excluded_paths = {"/var/../etc"};
  EXPECT_THROW(check_initrd_spec(spec), base::Error);
  spec = spec_of();
  spec.kernel_path = "boot/vmlinuz";
  EXPECT_THROW(check_initrd_spec(spec), base::Error);
  EXPECT_NO_THROW(check_initrd_spec(spec_of()));
}

}  // namespace
}  // namespace stage::isomaker
