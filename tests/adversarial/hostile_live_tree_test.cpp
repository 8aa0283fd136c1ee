// A hostile live tree against stage-isomaker's own code: symlinks that lead
// out of the tree to the host's dynamic loader, grub-mkimage or secrets must
// be resolved inside the tree (and so not found) or stored as links, never
// run or read; nothing is left in the output directory.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/isomaker/initrd.hpp"
#include "stages/isomaker/iso.hpp"
#include "stages/isomaker/output_files.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::isomaker {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct HostileTree {
  tests::TempDir dir{"oic-hostile-live-tree"};
  fs::path tree = dir.path() / "tree";
  fs::path out = dir.path() / "out";
  HostileTree() {
    fs::create_directories(tree / "usr/lib/grub/x86_64-efi");
    fs::create_directories(tree / "lib64");
    fs::create_directories(tree / "usr/bin");
    fs::create_directories(out);
    dir.write("tree/sbin/init", "#!/bin/sh\n");
    dir.write("kernel", "kernel");
    dir.write("initrd", "initrd");
    dir.write("outside/secret", "host secret\n");
  }
  base::UniqueFd open(const fs::path& path) const { return base::UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY)); }

  std::string iso_error(const IsoSpec& spec) const {
    const base::UniqueFd tree_fd = open(tree);
    const base::UniqueFd out_fd = open(out);
    PendingOutputs outputs(out_fd.get());
    try {
      make_iso(spec, tree_fd.get(), out_fd.get(), out.string(), outputs);
    } catch (const base::Error& e) {
      return e.what();
    }
    return "";
  }
  IsoSpec spec() const {
    IsoSpec s;
    s.kernel = (dir.path() / "kernel").string();
    s.initrd = (dir.path() / "initrd").string();
    s.menu = {"Live", "", 5};
    s.grub = {"/usr/bin/grub-mkimage", "/usr/lib/grub/x86_64-efi", "/usr/lib/grub/i386-pc"};
    s.output_name = "x.iso";
    return s;
  }
};

TEST(HostileLiveTree, LoaderLinkToTheHostsLoaderIsNotFollowedOut) {
  HostileTree t;
  // Absolute and climbing links to the host's own loader.
  fs::create_symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", t.tree / "lib64/ld-linux-x86-64.so.2");
  fs::create_symlink("../../../../../../../../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                     t.tree / "lib64/ld-linux-aarch64.so.1");
  EXPECT_THAT(t.iso_error(t.spec()), HasSubstr("the live tree has no dynamic loader"));
  EXPECT_TRUE(fs::is_empty(t.out));
}

TEST(HostileLiveTree, GrubMkimageOutsideTheTreeIsNotRun) {
  HostileTree t;
  t.dir.write("tree/lib64/ld-linux-x86-64.so.2", "not a loader");
  fs::create_symlink("/usr/bin/true", t.tree / "usr/bin/grub-mkimage");
  EXPECT_THAT(t.iso_error(t.spec()), HasSubstr("grub-mkimage (grub.mkimage) '/usr/bin/grub-mkimage' does not exist"));
  IsoSpec climbing = t.spec();
  climbing.grub.mkimage = "/../../../../../../usr/bin/true";
  EXPECT_THAT(t.iso_error(climbing), HasSubstr("does not exist in the tree"));
  EXPECT_TRUE(fs::is_empty(t.out));
}

TEST(HostileLiveTree, InitrdStoresLinksToHostFilesAsLinks) {
  HostileTree t;
  fs::create_symlink(t.dir.path() / "outside/secret", t.tree / "secret-abs");
  fs::create_symlink("../outside/secret", t.tree / "secret-rel");
  const base::UniqueFd tree_fd = t.open(t.tree);
  const base::UniqueFd out_fd = t.open(t.out);
  PendingOutputs outputs(out_fd.get());
  write_initrd(tree_fd.get(), {.excluded_paths = {}, .compression = Compression::kNone, .clamp_time = 0,
                               .kernel_path = "/boot/vmlinuz", .output_name = "live.img"},
               outputs);
  outputs.commit();
  archive* a = archive_read_new();
  archive_read_support_format_cpio(a);
  ASSERT_EQ(archive_read_open_filename(a, (t.out / "live.img").c_str(), 10240), ARCHIVE_OK);
  archive_entry* e = nullptr;
  int links = 0;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const std::string path = archive_entry_pathname(e);
    char buffer[256];
    const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
    EXPECT_THAT(std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0), ::testing::Not(HasSubstr("host secret")))
        << path;
    if (path.starts_with("secret-")) {
      EXPECT_EQ(archive_entry_filetype(e), AE_IFLNK) << path;
      ++links;
    }
  }
  archive_read_free(a);
  EXPECT_EQ(links, 2);
}

TEST(HostileLiveTree, KernelLinkOutOfTheTreeIsRefused) {
  HostileTree t;
  fs::create_directories(t.tree / "boot");
  fs::create_symlink(t.dir.path() / "outside/secret", t.tree / "boot/vmlinuz");
  const base::UniqueFd tree_fd = t.open(t.tree);
  const base::UniqueFd out_fd = t.open(t.out);
  PendingOutputs outputs(out_fd.get());
  EXPECT_THROW(copy_kernel(tree_fd.get(), "/boot/vmlinuz", outputs), base::Error);
  EXPECT_THROW(copy_kernel(tree_fd.get(), "/../outside/secret", outputs), base::Error);
}

}  // namespace
}  // namespace stage::isomaker
