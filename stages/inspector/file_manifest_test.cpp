// The file manifest `compare` diffs: debugfs's batched output split by the
// requests and their known sizes, `ls -p` lines parsed strictly, and every
// file of a disk made by hand (test_disk.hpp) listed with its type, mode,
// owner, size, content SHA-256 (checked against sha256sum) and link target,
// across more directories and files than one debugfs process takes.
#include "stages/inspector/file_manifest.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <optional>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/inspector/debugfs_batch.hpp"
#include "stages/inspector/test_disk.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::inspector {
namespace {

using namespace stage::inspector::testing;

TEST(DebugfsBatch, SplitsAtTheEchoesAndByKnownSizes) {
  const std::vector<DebugfsRequest> requests = {{"ls -p <2>", {}}, {"cat <12>", 6}, {"cat <13>", 0}, {"stat <14>", {}}};
  // The file's bytes may look like an echo: they are cut by its size.
  const std::string text = "debugfs: ls -p <2>\n/2/040755/0/0/.//\n\ndebugfs: cat <12>\nx\ndebu"
                           "debugfs: cat <13>\ndebugfs: stat <14>\nInode: 14\n";
  const DebugfsBatchOutput out = split_debugfs_output(text, requests, "partition 2");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], "/2/040755/0/0/.//\n\n");
  EXPECT_EQ(out[1], "x\ndebu");
  EXPECT_EQ(out[2], "");
  EXPECT_EQ(out[3], "Inode: 14\n");
}

TEST(DebugfsBatch, AMissingOrShortOutputIsAnError) {
  const std::vector<DebugfsRequest> requests = {{"cat <12>", 10}, {"cat <13>", 1}};
  EXPECT_THROW(split_debugfs_output("debugfs: cat <12>\nshort", requests, "p"), base::Error);
  EXPECT_THROW(split_debugfs_output("debugfs: cat <12>\n0123456789", requests, "p"), base::Error);
  EXPECT_THROW(split_debugfs_output("debugfs: cat <12>\n0123456789debugfs: cat <13>\nab", requests, "p"), base::Error);
  try {
    split_debugfs_output("debugfs: cat <12>\n0123456789debugfs: ls\n", requests, "partition 2 of 'disk.raw'");
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("partition 2 of 'disk.raw' with debugfs (cat <13>)"), std::string::npos)
        << e.what();
  }
}

TEST(DebugfsListing, ParsesEveryFieldAndRefusesABrokenLine) {
  const auto entries =
      parse_debugfs_listing("/2/040755/0/0/.//\n/0/000000/0/0//0/\n/12/104755/1000/27/su do/61/\n\n", "/ in p");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].inode, 12u);
  EXPECT_EQ(entries[1].mode, 0104755u);
  EXPECT_EQ(entries[1].uid, 1000u);
  EXPECT_EQ(entries[1].gid, 27u);
  EXPECT_EQ(entries[1].name, "su do");
  EXPECT_EQ(entries[1].size, 61u);
  EXPECT_EQ(file_type_of(entries[1].mode, "x"), "regular");
  EXPECT_EQ(file_type_of(0020644, "x"), "char");
  EXPECT_THROW(file_type_of(0170644, "x"), base::Error);
  // A name with a newline splits its line: an error, not a guess.
  EXPECT_THROW(parse_debugfs_listing("/12/100644/0/0/a\nb/6/\n", "/ in p"), base::Error);
  EXPECT_THROW(parse_debugfs_listing("/12/100944/0/0/a/6/\n", "/ in p"), base::Error);
}

TEST(ManifestBudget, RefusesMoreFilesOrNameBytesThanTheResultHolds) {
  ManifestBudget files;
  const FileEntry one{2, "/f", "regular", 0644, 0, 0, 1, "", ""};
  for (std::size_t i = 0; i < kMaxManifestFiles; ++i) files.add(one, "partition 2");
  try {
    files.add(one, "partition 2 of 'disk.raw'");
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("partition 2 of 'disk.raw': the image holds more than 250000 files"),
              std::string::npos)
        << e.what();
  }
  ManifestBudget names;
  const FileEntry long_link{2, "/l", "symlink", 0777, 0, 0, 4000, "", std::string(4000, 'x')};
  EXPECT_THROW(
      for (std::uint64_t bytes = 0; bytes <= kMaxManifestNameBytes; bytes += 4002) names.add(long_link, "partition 2"),
      base::Error);
}

class FileManifest : public ::testing::Test {
 protected:
  tests::TempDir dir_{"oic-inspect-files"};
  std::optional<Report> report_;
  fs::path tree() const { return dir_.path() / "tree"; }

  std::string sha256sum(const fs::path& file) const {
    // The file on stdin: sha256sum escapes a name with a backslash in its output.
    const auto r = tests::support::run_program({"/usr/bin/sha256sum"}, {{"LC_ALL", "C"}}, dir_.path() / "sum", file);
    return r.out.substr(0, 64);
  }

  // The files of `partition`; the disk is read once.
  std::map<std::string, FileEntry> listed(std::uint32_t partition) {
    if (!report_) {
      const base::UniqueFd fd(::open((dir_.path() / "disk.raw").c_str(), O_RDONLY | O_CLOEXEC));
      report_ = read_image(fd.get(), "disk.raw", {}, {.list_files = true});
    }
    std::map<std::string, FileEntry> out;
    for (const FileEntry& f : report_->files) {
      if (f.partition == partition) out.emplace(f.path, f);
    }
    return out;
  }
};

TEST_F(FileManifest, ListsEveryFileOfTheRootAndTheEsp) {
  fill_debian_tree(tree());
  fill_esp(dir_.path() / "esp");
  write_file(tree() / "usr/bin/tool", std::string(3 * 1024 * 1024, 'x') + "end");
  fs::permissions(tree() / "usr/bin/tool", fs::perms(04755), fs::perm_options::replace);
  fs::create_symlink(std::string(100, 'l'), tree() / "usr/bin/long-link");  // not in the inode
  write_file(tree() / "odd/a b\"c\\d", "named by inode, not by path");
  // More directories and files than one debugfs process is given.
  for (int d = 0; d < 300; ++d) write_file(tree() / "many" / std::to_string(d) / "f", std::to_string(d));
  for (int f = 0; f < 4200; ++f) write_file(tree() / "flat" / std::to_string(f), std::to_string(f * 7));
  const fs::path disk = make_disk(dir_.path());
  // A hidden FAT file, which mdir leaves out unless asked (-a).
  const auto hide = tests::support::run_program(
      {"/usr/bin/mattrib", "-i", disk.string() + "@@1048576", "+h", "::/loader/entries/debian.conf"},
      {{"LC_ALL", "C"}}, dir_.path() / "mattrib");
  ASSERT_EQ(hide.exit_code, 0) << hide.err;
  const auto root = listed(2);
  std::size_t in_tree = 2;  // "/" and mkfs's /lost+found
  for (auto it = fs::recursive_directory_iterator(tree()); it != fs::recursive_directory_iterator(); ++it) {
    ++in_tree;
    EXPECT_EQ(root.count("/" + fs::relative(it->path(), tree()).string()), 1u) << it->path();
  }
  EXPECT_EQ(root.size(), in_tree) << "every file once";
  const FileEntry& tool = root.at("/usr/bin/tool");
  EXPECT_EQ(tool.type, "regular");
  EXPECT_EQ(tool.mode, 04755u);
  EXPECT_EQ(tool.uid, ::getuid());
  EXPECT_EQ(tool.size, 3u * 1024 * 1024 + 3);
  EXPECT_EQ(tool.sha256, sha256sum(tree() / "usr/bin/tool"));
  EXPECT_EQ(root.at("/etc/passwd").sha256, sha256sum(tree() / "etc/passwd"));
  EXPECT_EQ(root.at("/flat/4199").sha256, sha256sum(tree() / "flat/4199"));
  EXPECT_EQ(root.at("/many/299/f").sha256, sha256sum(tree() / "many/299/f"));
  EXPECT_EQ(root.at("/odd/a b\"c\\d").sha256, sha256sum(tree() / "odd/a b\"c\\d"));
  EXPECT_EQ(root.at("/etc/os-release").type, "symlink");
  EXPECT_EQ(root.at("/etc/os-release").link_target, "../usr/lib/os-release");
  EXPECT_EQ(root.at("/usr/bin/long-link").link_target, std::string(100, 'l'));
  EXPECT_EQ(root.at("/usr/bin").type, "directory");
  EXPECT_EQ(root.at("/usr/bin").size, 0u);
  EXPECT_EQ(root.at("/").type, "directory");
  const auto esp = listed(1);
  EXPECT_EQ(esp.at("/EFI/BOOT").type, "directory");
  EXPECT_EQ(esp.at("/EFI/BOOT/BOOTX64.EFI").size, 23u);
  EXPECT_EQ(esp.at("/EFI/BOOT/BOOTX64.EFI").sha256, sha256sum(dir_.path() / "esp/EFI/BOOT/BOOTX64.EFI"));
  EXPECT_EQ(esp.at("/loader/entries/debian.conf").sha256, sha256sum(dir_.path() / "esp/loader/entries/debian.conf"));
}

TEST_F(FileManifest, ADirectoryReachedTwiceIsAnErrorNotAnEndlessWalk) {
  fill_debian_tree(tree());
  const fs::path disk = make_disk(dir_.path());
  const std::string fs_at = disk.string() + "?offset=" + std::to_string(kRootOffset);
  const auto r = tests::support::run_program({"/usr/sbin/debugfs", "-w", "-R", "ln /etc /etc/loop", fs_at},
                                             {{"LC_ALL", "C"}}, dir_.path() / "scratch");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  try {
    listed(2);
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("the directory /etc/loop (inode "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is reached twice, a loop"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stage::inspector
