// copy_tree, as the installer saves a bootstrapped base and reuses it, on a
// tree made in the stage's own kind of user namespace (the subordinate range
// mapped, the installer's seccomp policy and capabilities) so that owners,
// setuid bits and file capabilities are real there. This binary runs itself
// in the sandbox (--copy-trees) to make the tree, copy it there and back, and
// print a listing of each; the tests compare the listings.
// Run as an unprivileged user with an /etc/subuid range (or as root).
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/launch.hpp"
#include "sandbox/stage_owner.hpp"
#include "sandbox/stage_policy.hpp"
#include "sandbox/tree_removal.hpp"
#include "base/unique_fd.hpp"
#include "stages/installer/build_env.hpp"
#include "stages/installer/policy.hpp"
#include "tests/support/gtest_run.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSelfInSandbox = "/run/oic/build_env_test";
constexpr const char* kListingEnd = "--- end of listing ---";

// ---- inside the sandbox: make the tree, copy it, describe each copy ----

void must(bool ok, const std::string& what) {
  if (ok) return;
  std::perror(what.c_str());
  std::exit(3);
}

void write_file(const fs::path& path, const std::string& text, mode_t mode, uid_t uid, gid_t gid) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  // chown first: it clears setuid bits, as a package's files get them.
  must(::chown(path.c_str(), uid, gid) == 0 && ::chmod(path.c_str(), mode) == 0, path.string());
}

void make_tree(const fs::path& root) {
  write_file(root / "etc/shadow", "root:*:19000:0:99999:7:::\n", 0640, 0, 42);
  write_file(root / "home/user/notes", "mine\n", 0600, 1000, 1001);
  must(::chown((root / "home/user").c_str(), 1000, 1001) == 0 && ::chmod((root / "home/user").c_str(), 0700) == 0,
       "home/user");
  write_file(root / "usr/bin/su", "not really su\n", 04755, 0, 0);
  write_file(root / "usr/bin/wall", "not really wall\n", 02755, 0, 5);
  write_file(root / "usr/bin/ping", "not really ping\n", 0755, 0, 0);
  cap_t caps = cap_from_text("cap_net_raw+ep");
  const int rc = caps ? cap_set_file((root / "usr/bin/ping").c_str(), caps) : -1;
  if (caps) cap_free(caps);
  must(rc == 0, "cap_set_file usr/bin/ping");
  write_file(root / "usr/lib/data", "shared bytes\n", 0644, 0, 0);
  must(::link((root / "usr/lib/data").c_str(), (root / "usr/lib/data-hardlink").c_str()) == 0, "link");
  must(::symlink("data", (root / "usr/lib/data-symlink").c_str()) == 0, "symlink");
  must(::lchown((root / "usr/lib/data-symlink").c_str(), 7, 7) == 0, "lchown");
  const std::string value = "kept";
  must(::setxattr((root / "usr/lib/data").c_str(), "user.oic-test", value.data(), value.size(), 0) == 0, "setxattr");
}

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {kDigits[c >> 4], kDigits[c & 15]};
  return out;
}

// "name=hexvalue ..." of every xattr of `path` (not following symlinks), sorted.
std::string xattrs(const fs::path& path) {
  std::string names(4096, '\0');
  const ssize_t n = ::llistxattr(path.c_str(), names.data(), names.size());
  must(n >= 0, "llistxattr " + path.string());
  std::map<std::string, std::string> found;
  for (std::size_t at = 0; at < static_cast<std::size_t>(n);) {
    const std::string name(names.c_str() + at);
    at += name.size() + 1;
    std::string value(4096, '\0');
    const ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    must(size >= 0, "lgetxattr " + path.string());
    value.resize(static_cast<std::size_t>(size));
    found[name] = hex(value);
  }
  std::string out;
  for (const auto& [name, value] : found) out += " " + name + "=" + value;
  return out;
}

// One line per entry below `root` (sorted): path, type, mode, owner, size,
// the first path sharing its inode, the symlink target and the xattrs.
// Mount points are listed as such and not entered.
std::string listing(const fs::path& root) {
  struct stat top {};
  must(::lstat(root.c_str(), &top) == 0, root.string());
  std::vector<fs::path> paths;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    paths.push_back(it->path());
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && st.st_dev != top.st_dev) it.disable_recursion_pending();
  }
  std::sort(paths.begin(), paths.end());
  std::map<ino_t, std::string> first_with_inode;
  std::ostringstream out;
  for (const fs::path& path : paths) {
    struct stat st {};
    must(::lstat(path.c_str(), &st) == 0, path.string());
    const std::string rel = path.lexically_relative(root).string();
    out << rel;
    if (st.st_dev != top.st_dev) {
      out << " mount-point\n";
      continue;
    }
    const char type = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f' : '?';
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    out << " " << type << " " << (type == 'l' ? "-" : mode) << " " << st.st_uid << ":" << st.st_gid;
    if (type == 'f') {
      out << " size=" << st.st_size;
      const auto [first, inserted] = first_with_inode.emplace(st.st_ino, rel);
      out << " inode-of=" << first->second;
    }
    if (type == 'l') out << " -> " << fs::read_symlink(path).string();
    out << xattrs(path) << "\n";
  }
  return out.str();
}

// src (with a proc mounted at src/proc) -> saved (save) -> restored (reuse).
int copy_trees(const fs::path& base) {
  make_tree(base / "src");
  fs::create_directory(base / "saved");
  fs::create_directory(base / "restored");
  try {
    copy_tree(base / "src", base / "saved");
    copy_tree(base / "saved", base / "restored");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 4;
  }
  for (const char* name : {"src", "saved", "restored"}) std::cout << listing(base / name) << kListingEnd << "\n";
  return 0;
}

// ---- outside: run the above in the sandbox, compare ----

struct Listings {
  std::string src, saved, restored;
};

class CopyTree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "oic-build-env-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    // Not created by the mount: the stage's launcher makes its targets beforehand too.
    fs::create_directories(base_ / "src/proc");
    // The tree and the directory the copies go to, handed to the stage's root
    // as the supervisor does (stage_launch.cpp): run by root, the stage is a
    // subordinate uid (a no-op for a user).
    for (const fs::path& writable : {base_, base_ / "src"}) sandbox::give_to_stage_root(writable);
  }
  void TearDown() override {
    // The copies belong to subordinate ids: only the sandboxed rm removes them.
    if (!base_.empty()) sandbox::remove_tree(base_);
  }

  Listings run_inside() {
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    sandbox::SandboxSpec spec =
        sandbox::make_spec(installer_policy(), kSelfInSandbox, {kSelfInSandbox, "--copy-trees", base_.string()});
    spec.mounts.push_back({sandbox::MountKind::kDir, {}, "/run/oic", {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, self, kSelfInSandbox, {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRw, base_.string(), base_.string(), {}});
    spec.mounts.push_back({sandbox::MountKind::kProc, {}, (base_ / "src/proc").string(), {}});
    const fs::path out_path = base_ / "listings.txt";
    const fs::path err_path = base_ / "errors.txt";
    base::UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    base::UniqueFd err(::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    spec.fds = {{out.get(), 1}, {err.get(), 2}};
    const int status = sandbox::spawn(spec).wait();
    std::ifstream errors(err_path);
    std::stringstream error_text;
    error_text << errors.rdbuf();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << error_text.str();
    std::ifstream in(out_path);
    std::vector<std::string> parts(1);
    for (std::string line; std::getline(in, line);) {
      if (line == kListingEnd) {
        parts.emplace_back();
      } else {
        parts.back() += line + "\n";
      }
    }
    if (parts.size() < 4) return {};
    return {parts[0], parts[1], parts[2]};
  }

  fs::path base_;
};

// The host uid of a stage's root: the caller itself, or for root a
// subordinate uid (userns.hpp), never host uid 0.
uid_t host_uid_of_stage_root() {
  const std::optional<sandbox::HostOwner> owner = sandbox::stage_root_owner();
  return owner ? owner->uid : ::geteuid();
}

std::string line_of(const std::string& listing, const std::string& path) {
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(path + " ")) return line;
  }
  return "";
}

// The listing without the proc entry (a mount point in src, an empty
// directory in the copies).
std::string without_proc(const std::string& listing) {
  std::istringstream lines(listing);
  std::string out;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("proc ")) out += line + "\n";
  }
  return out;
}

TEST_F(CopyTree, KeepsOwnersModesLinksAndXattrsWhenSavedAndReused) {
  const Listings l = run_inside();
  ASSERT_FALSE(l.src.empty()) << "no listings from the sandbox";
  // The source really has what must survive (else the comparison proves nothing).
  EXPECT_EQ(line_of(l.src, "etc/shadow"), "etc/shadow f 0640 0:42 size=26 inode-of=etc/shadow");
  EXPECT_EQ(line_of(l.src, "home/user"), "home/user d 0700 1000:1001");
  EXPECT_EQ(line_of(l.src, "usr/bin/su"), "usr/bin/su f 4755 0:0 size=14 inode-of=usr/bin/su");
  EXPECT_EQ(line_of(l.src, "usr/bin/wall"), "usr/bin/wall f 2755 0:5 size=16 inode-of=usr/bin/wall");
  EXPECT_TRUE(line_of(l.src, "usr/bin/ping").find(" security.capability=") != std::string::npos) << l.src;
  EXPECT_EQ(line_of(l.src, "usr/lib/data-hardlink"),
            "usr/lib/data-hardlink f 0644 0:0 size=13 inode-of=usr/lib/data user.oic-test=6b657074");
  EXPECT_EQ(line_of(l.src, "usr/lib/data-symlink"), "usr/lib/data-symlink l - 7:7 -> data");
  EXPECT_EQ(line_of(l.src, "proc"), "proc mount-point");

  EXPECT_EQ(without_proc(l.saved), without_proc(l.src)) << "save (tree -> build environment)";
  EXPECT_EQ(without_proc(l.restored), without_proc(l.src)) << "reuse (build environment -> tree)";
  // The mounted /proc is not copied: an empty directory stands in for it.
  EXPECT_TRUE(line_of(l.saved, "proc").starts_with("proc d ")) << l.saved;
  EXPECT_EQ(line_of(l.saved, "proc/self"), "");
  // Seen from the host, the saved setuid file is the stage root's: a build
  // run by root keeps no setuid file of host root's in its build environment.
  struct stat su {};
  ASSERT_EQ(::lstat((base_ / "saved/usr/bin/su").c_str(), &su), 0);
  EXPECT_EQ(su.st_uid, host_uid_of_stage_root());
  EXPECT_EQ(su.st_mode & 07777, 04755u);
}

}  // namespace
}  // namespace stage::installer

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--copy-trees") return stage::installer::copy_trees(argv[2]);
  ::testing::InitGoogleTest(&argc, argv);
  return tests::support::run_all_tests();
}
