#include "sandbox/tree_removal.hpp"

#include <linux/capability.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/stage_owner.hpp"
#include "sandbox/syscall_sets.hpp"
#include "tests/support/temp_dir.hpp"

namespace sandbox {
namespace {

namespace fs = std::filesystem;

using TempDir = ::tests::TempDir;

// Runs `argv` (an absolute program path first) in the tree-removal sandbox
// with CAP_CHOWN added, so it can give files to other mapped ids.
void run_as_mapped_root(const fs::path& tree, std::vector<std::string> argv) {
  SandboxSpec spec = tree_removal_spec(tree);
  spec.executable = argv.front();
  spec.argv = std::move(argv);
  spec.capabilities.push_back(CAP_CHOWN);
  spec.seccomp.allow(syscalls::ownership());
  // chown asks NSS (nscd's socket) even for numeric ids.
  syscalls::allow_unix_socket_creation(spec.seccomp);
  spec.seccomp.allow(syscalls::local_sockets());
  SpawnedStage child = spawn(spec);
  const int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << spec.argv[0] << " failed: " << status;
}

// A tree of directories and files owned by uid/gid 42 inside the user
// namespace (a subordinate id on the host), one directory without write bits.
fs::path make_foreign_tree(const fs::path& parent) {
  const fs::path tree = parent / "root";
  fs::create_directories(tree / "etc" / "locked");
  std::ofstream(tree / "etc" / "hostname") << "image\n";
  std::ofstream(tree / "etc" / "locked" / "shadow") << "root:*:1::::::\n";
  fs::create_symlink("/etc/hostname", tree / "link-out");
  // As root the sandbox's root is a subordinate id: the tree must be its own first.
  give_to_stage_root(parent);
  give_to_stage_root(tree);
  for (const auto& entry : fs::recursive_directory_iterator(tree)) give_to_stage_root(entry.path());
  run_as_mapped_root(tree, {"/usr/bin/chown", "-R", "42:42", tree.string()});
  run_as_mapped_root(tree, {"/usr/bin/chmod", "0500", (tree / "etc" / "locked").string()});
  return tree;
}

TEST(TreeRemoval, RemovesATreeOwnedBySubordinateIds) {
  TempDir dir;
  const fs::path tree = make_foreign_tree(dir.path());
  struct stat st {};
  ASSERT_EQ(::stat((tree / "etc" / "hostname").c_str(), &st), 0);
  ASSERT_NE(st.st_uid, ::geteuid()) << "the file should belong to another id";
  if (::geteuid() != 0) {
    std::error_code ec;
    fs::remove_all(tree, ec);
    EXPECT_TRUE(ec) << "a plain removal should not be allowed";
  }
  remove_tree(tree);
  EXPECT_FALSE(fs::exists(fs::symlink_status(tree)));
  EXPECT_TRUE(fs::exists("/etc/hostname")) << "a symlink must not be followed";
}

TEST(TreeRemoval, SandboxedRemovalWorksForAPlainTreeToo) {
  TempDir dir;
  fs::create_directories(dir.path() / "a" / "b");
  std::ofstream(dir.path() / "a" / "b" / "file") << "x";
  remove_tree_sandboxed(dir.path() / "a");
  EXPECT_FALSE(fs::exists(dir.path() / "a"));
  EXPECT_TRUE(fs::exists(dir.path())) << "only the named tree goes";
}

TEST(TreeRemoval, IgnoresAMissingPath) {
  TempDir dir;
  EXPECT_NO_THROW(remove_tree(dir.path() / "missing"));
  EXPECT_NO_THROW(remove_tree_sandboxed(dir.path() / "missing"));
}

TEST(TreeRemoval, RefusesRelativeAndRootPaths) {
  EXPECT_THROW(remove_tree("relative/dir"), base::Error);
  EXPECT_THROW(remove_tree("/"), base::Error);
}

}  // namespace
}  // namespace sandbox
