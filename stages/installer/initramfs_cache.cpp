#include "stages/installer/initramfs_cache.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <sstream>

#include "base/dir_entries.hpp"
#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/installer/os_config.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kKeyFormat = "oic-initramfs-2";  // bumped when the key's inputs or the tool's arguments change (2: dracut --reproducible)
constexpr std::size_t kReadBuffer = 1 << 20;

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;

Ctx new_sha256() {
  Ctx ctx(EVP_MD_CTX_new());
  base::check(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1, "Failed to initialise SHA-256");
  return ctx;
}

void feed(EVP_MD_CTX* ctx, std::string_view bytes) {
  base::check(EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) == 1, "Failed to hash");
}

std::array<unsigned char, 32> finish(EVP_MD_CTX* ctx) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  base::check(EVP_DigestFinal_ex(ctx, digest.data(), &size) == 1 && size == digest.size(), "Failed to finish SHA-256");
  return digest;
}

std::string hex(const std::array<unsigned char, 32>& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  return out;
}

// The content of a regular file; one the stage may not read (no capability
// over it) is hashed as such: the tool, run with the same rights, cannot
// read it either.
void feed_content(EVP_MD_CTX* ctx, int dir_fd, const std::string& name, const std::string& shown,
                  std::vector<char>& buffer) {
  base::UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd && errno == EACCES) {
    feed(ctx, std::string_view("\0unreadable", 11));
    return;
  }
  base::check_syscall(fd.get(), "open", shown);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", shown);
    if (n == 0) return;
    feed(ctx, std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  }
}

const TreeEntry* unchanged_file(const TreeListing* earlier, const std::string& path, const struct stat& st) {
  if (earlier == nullptr || !S_ISREG(st.st_mode)) return nullptr;
  const auto it = std::lower_bound(earlier->begin(), earlier->end(), path,
                                   [](const TreeEntry& e, const std::string& p) { return e.path < p; });
  if (it == earlier->end() || it->path != path) return nullptr;
  const bool same = it->inode == st.st_ino && it->size == st.st_size && it->ctime.tv_sec == st.st_ctim.tv_sec &&
                    it->ctime.tv_nsec == st.st_ctim.tv_nsec;
  return same ? &*it : nullptr;
}

class TreeWalk {
 public:
  TreeWalk(const fs::path& root, const TreeListing* earlier) : root_(root), earlier_(earlier), buffer_(kReadBuffer) {}

  TreeListing run() {
    base::UniqueFd fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    base::check_syscall(fd.get(), "open", root_.string());
    struct stat st {};
    base::check_syscall(::fstat(fd.get(), &st), "stat", root_.string());
    device_ = st.st_dev;
    directory(fd.get(), "");
    std::sort(listing_.begin(), listing_.end(), [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
    return std::move(listing_);
  }

 private:
  void directory(int fd, const std::string& prefix) {
    for (const std::string& name : base::sorted_entry_names(fd, shown(prefix))) entry(fd, name, prefix + name);
  }

  void entry(int dir_fd, const std::string& name, const std::string& path) {
    struct stat st {};
    base::check_syscall(::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "stat", shown(path));
    if (st.st_dev != device_) return;  // a mount point: /proc, /dev
    TreeEntry out{
        .path = path, .digest = {}, .inode = st.st_ino, .ctime = st.st_ctim, .mtime = st.st_mtim, .size = st.st_size};
    if (const TreeEntry* same = unchanged_file(earlier_, path, st)) {
      out.digest = same->digest;
      listing_.push_back(std::move(out));
      return;
    }
    Ctx ctx = new_sha256();
    const bool directory_entry = S_ISDIR(st.st_mode);
    const bool device = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode);
    // A directory's size is its blocks, not what it holds: left out.
    const auto size = directory_entry ? 0 : device ? static_cast<long long>(st.st_rdev) : static_cast<long long>(st.st_size);
    feed(ctx.get(), path + '\0' + std::to_string(st.st_mode) + ' ' + std::to_string(st.st_uid) + ' ' +
                        std::to_string(st.st_gid) + ' ' + std::to_string(size) + '\0');
    if (S_ISREG(st.st_mode)) feed_content(ctx.get(), dir_fd, name, shown(path), buffer_);
    if (S_ISLNK(st.st_mode)) feed(ctx.get(), link_target(dir_fd, name, path));
    base::UniqueFd child;
    if (directory_entry) {
      child.reset(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      // As for a file: what the stage may not list, the tool may not either.
      if (!child && errno == EACCES) feed(ctx.get(), std::string_view("\0unreadable", 11));
      else base::check_syscall(child.get(), "open", shown(path));
    }
    out.digest = finish(ctx.get());
    listing_.push_back(std::move(out));
    if (child) directory(child.get(), path + "/");
  }

  std::string link_target(int dir_fd, const std::string& name, const std::string& path) const {
    std::string target(PATH_MAX, '\0');
    const ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
    base::check_syscall(n, "read the link", shown(path));
    target.resize(static_cast<std::size_t>(n));
    return target;
  }

  std::string shown(const std::string& path) const { return "/" + path + " of the tree " + root_.string(); }

  fs::path root_;
  const TreeListing* earlier_;
  std::vector<char> buffer_;
  dev_t device_ = 0;
  TreeListing listing_;
};

// <cache_dir>/<key> into the tree at the kernel's initrd path, with its mode,
// owned by the stage's root; false when there is no such entry.
bool copy_cached_initramfs(const fs::path& cache_dir, const std::string& key, const fs::path& root,
                           const KernelInfo& kernel) {
  const fs::path cached = cache_dir / key;
  base::UniqueFd from(::open(cached.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!from && errno == ENOENT) return false;
  base::check_syscall(from.get(), "open the cached initramfs", cached.string());
  struct stat st {};
  base::check_syscall(::fstat(from.get(), &st), "stat", cached.string());
  base::check(S_ISREG(st.st_mode), "Failed to reuse the initramfs '" + cached.string() + "': not a regular file");
  base::UniqueFd to = open_in_root(root, kernel.initrd_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  base::check_syscall(to.get(), "create", "/" + kernel.initrd_path + " of the tree");
  for (off_t left = st.st_size; left > 0;) {
    const ssize_t n = ::copy_file_range(from.get(), nullptr, to.get(), nullptr, static_cast<std::size_t>(left), 0);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "copy the cached initramfs to", "/" + kernel.initrd_path);
    base::check(n > 0, "Failed to copy the cached initramfs '" + cached.string() + "': it became shorter");
    left -= n;
  }
  base::check_syscall(::fchown(to.get(), ::geteuid(), ::getegid()), "chown", "/" + kernel.initrd_path);
  base::check_syscall(::fchmod(to.get(), st.st_mode & 0777), "chmod", "/" + kernel.initrd_path);
  return true;
}

// A path of <key>.touched: relative, inside the tree, one line.
bool is_tree_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string::npos) return false;
  for (const auto& part : fs::path(path)) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

// <key>.touched: what the tool touched when it made the kept initramfs;
// nullopt when there is none (the entry is then incomplete, or is being
// removed: a miss).
std::optional<std::vector<std::string>> touched_list(const fs::path& cache_dir, const std::string& key) {
  const std::string name = key + ".touched";
  const std::optional<std::string> text = read_file_in_root(cache_dir, name);
  if (!text) return std::nullopt;
  const fs::path list = cache_dir / name;
  std::vector<std::string> paths;
  std::istringstream lines(*text);
  for (std::string path; std::getline(lines, path);) {
    base::check(is_tree_path(path), "Failed to reuse the initramfs: '" + list.string() + "' names '" + path + "'");
    paths.push_back(std::move(path));
  }
  return paths;
}

// Sets their times to now. A path the tree does not have is left: the key
// says the tree is the one the tool ran on, so only a changed store entry
// names one.
void touch_again(const std::vector<std::string>& paths, const fs::path& root) {
  for (const std::string& path : paths) {
    base::UniqueFd entry = open_in_root(root, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    if (entry) base::check_syscall(::futimens(entry.get(), nullptr), "touch", "/" + path + " of the tree");
  }
}

}  // namespace

TreeListing list_tree(const fs::path& root, const TreeListing* earlier) { return TreeWalk(root, earlier).run(); }

std::vector<std::string> changed_paths(const TreeListing& before, const TreeListing& after) {
  std::vector<std::string> changed;
  auto b = before.begin();
  auto a = after.begin();
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->path < a->path)) {
      changed.push_back((b++)->path);
    } else if (b == before.end() || a->path < b->path) {
      changed.push_back((a++)->path);
    } else {
      if (a->digest != b->digest) changed.push_back(a->path);
      ++a;
      ++b;
    }
  }
  return changed;
}

std::vector<std::string> touched_paths(const TreeListing& before, const TreeListing& after) {
  std::vector<std::string> touched;
  auto b = before.begin();
  for (const TreeEntry& a : after) {
    while (b != before.end() && b->path < a.path) ++b;
    if (b == before.end() || b->path != a.path || b->digest != a.digest) continue;
    if (b->mtime.tv_sec != a.mtime.tv_sec || b->mtime.tv_nsec != a.mtime.tv_nsec) touched.push_back(a.path);
  }
  return touched;
}

std::string initramfs_key(const TreeListing& tree, const KernelInfo& kernel, std::string_view tool,
                          const InitramfsContents& contents, std::int64_t source_date_epoch) {
  Ctx ctx = new_sha256();
  // Each field ends in a NUL, so no two lists of fields feed the same bytes.
  std::string header;
  const auto field = [&header](std::string_view text) {
    header += text;
    header += '\0';
  };
  field(kKeyFormat);
  field(tool);
  field(kernel.version);
  field(kernel.initrd_path);
  for (const std::string& module : contents.extra_modules) field("module " + module);
  field(contents.verity_root ? "verity" : "writable");
  field("epoch " + std::to_string(source_date_epoch));
  feed(ctx.get(), header);
  for (const TreeEntry& entry : tree) {
    feed(ctx.get(), std::string_view(reinterpret_cast<const char*>(entry.digest.data()), entry.digest.size()));
  }
  return hex(finish(ctx.get()));
}

InitramfsOutcome make_or_reuse_initramfs(const fs::path& root, const KernelInfo& kernel, std::string_view tool,
                                         const InitramfsContents& contents, std::int64_t source_date_epoch,
                                         const std::optional<fs::path>& cache_dir, const std::function<void()>& make) {
  InitramfsOutcome outcome;
  if (!cache_dir || tool.empty() || tool == "none") {
    make();
    return outcome;
  }
  const TreeListing before = list_tree(root);
  const std::string key = initramfs_key(before, kernel, tool, contents, source_date_epoch);
  const std::optional<std::vector<std::string>> touched = touched_list(*cache_dir, key);
  if (touched && copy_cached_initramfs(*cache_dir, key, root, kernel)) {
    touch_again(*touched, root);
    outcome.key = key;
    outcome.reused = true;
    return outcome;
  }
  make();
  // Only what the tool wrote into its own file may be skipped next time.
  const TreeListing after = list_tree(root, &before);
  for (std::string& path : changed_paths(before, after)) {
    if (path != kernel.initrd_path) outcome.also_changed.push_back(std::move(path));
  }
  if (!outcome.also_changed.empty()) return outcome;
  outcome.key = key;
  for (std::string& path : touched_paths(before, after)) {
    if (path != kernel.initrd_path) outcome.touched.push_back(std::move(path));
  }
  return outcome;
}

bool end_stray_processes() {
  if (::getpid() != 1) return false;
  // As pid 1, kill(-1) reaches every other process of the namespace.
  const bool any = ::kill(-1, SIGKILL) == 0;
  for (;;) {
    const pid_t reaped = ::waitpid(-1, nullptr, __WALL);
    if (reaped > 0 || (reaped < 0 && errno == EINTR)) continue;
    break;
  }
  return any;
}

}  // namespace stage::installer
