#include "supervisor/cache/initramfs_store.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/error.hpp"
#include "base/openat2.hpp"
#include "base/unique_fd.hpp"
#include "sandbox/stage_owner.hpp"
#include "supervisor/cache/private_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using base::UniqueFd;

bool is_key(const std::string& key) {
  return key.size() == 64 && key.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The stage wrote the tree: its initramfs is reached from the tree without
// following a link or leaving it, and must be a regular file.
UniqueFd open_stage_initramfs(const fs::path& root, const std::string& initrd_path, struct stat& st) {
  const std::string shown = "/" + initrd_path + " of the tree " + root.string();
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  base::check_syscall(root_fd.get(), "open", root.string());
  open_how how{};
  how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  const long fd = base::openat2_retrying(root_fd.get(), initrd_path.c_str(), how);
  if (fd < 0 && (errno == ELOOP || errno == EXDEV)) {
    base::fail(base::ErrorKind::kSandboxViolation, "Refused to keep the initramfs " + shown +
                                                       ": it is, or its path passes through, a symbolic link");
  }
  base::check_syscall(static_cast<int>(fd), "open", shown);
  UniqueFd file(static_cast<int>(fd));
  base::check_syscall(::fstat(file.get(), &st), "stat", shown);
  base::require(S_ISREG(st.st_mode), "Refused to keep the initramfs " + shown + ": not a regular file");
  return file;
}

void copy_all(int from, int to, off_t size, const std::string& shown) {
  for (off_t left = size; left > 0;) {
    const ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, static_cast<std::size_t>(left), 0);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "copy the initramfs to", shown);
    base::check(n > 0, "Failed to keep the initramfs '" + shown + "': its source became shorter");
    left -= n;
  }
}

// A relative path inside the tree, on one line.
bool is_tree_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find_first_of(std::string("\n\0", 2)) != std::string::npos) {
    return false;
  }
  for (const auto& part : fs::path(path)) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

// A new file of the store under a temporary name, renamed to `name`.
void write_store_file(const fs::path& store, const std::string& name, const std::string& text) {
  const fs::path temp = store / (".tmp-" + name + "-" + std::to_string(::getpid()));
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  base::check_syscall(out.get(), "create", temp.string());
  sandbox::give_to_stage_root(temp);
  const bool written = ::write(out.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (!written || ::rename(temp.c_str(), (store / name).c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    errno = error;
    base::check_syscall(-1, "write", (store / name).string());
  }
}

// All but the newest kInitramfsKept (by modification time) go.
void remove_oldest(const fs::path& store) {
  std::vector<std::pair<fs::file_time_type, fs::path>> kept;
  std::error_code ec;
  for (fs::directory_iterator it(store, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_key(name) || !it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    kept.emplace_back(fs::last_write_time(it->path(), ec), it->path());
  }
  if (kept.size() <= kInitramfsKept) return;
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = kInitramfsKept; i < kept.size(); ++i) {
    fs::remove(kept[i].second.string() + ".touched", ec);
    fs::remove(kept[i].second, ec);
  }
}

}  // namespace

fs::path initramfs_store_dir(const fs::path& cache_dir, std::vector<std::string>* warnings) {
  const fs::path dir = cache_dir / "initramfs";
  if (auto warning = make_private_dir(dir); warning && warnings != nullptr) warnings->push_back(*warning);
  // Run by root, the installer is a subordinate uid: its read-only bind of
  // the store must be its own to read (the 0700 cache root keeps others out).
  sandbox::give_to_stage_root(dir);
  return dir;
}

void keep_initramfs(const fs::path& store, const std::string& key, const fs::path& root,
                    const std::string& initrd_path, const std::vector<std::string>& touched) {
  base::check(is_key(key), "the installer named the initramfs '" + key.substr(0, 80) + "', not a key");
  std::string listed;
  for (const std::string& path : touched) {
    base::check(is_tree_path(path), "the installer named '" + path.substr(0, 200) + "' as touched, not a tree path");
    listed += path + "\n";
  }
  struct stat st {};
  const UniqueFd from = open_stage_initramfs(root, initrd_path, st);
  // Before the initramfs: whoever finds <key> finds what goes with it.
  write_store_file(store, key + ".touched", listed);
  const fs::path temp = store / (".tmp-" + key + "-" + std::to_string(::getpid()));
  UniqueFd to(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0755));
  base::check_syscall(to.get(), "create", temp.string());
  try {
    sandbox::give_to_stage_root(temp);  // as the store itself
    copy_all(from.get(), to.get(), st.st_size, temp.string());
    base::check_syscall(::fchmod(to.get(), st.st_mode & 0755), "chmod", temp.string());
    base::check_syscall(::rename(temp.c_str(), (store / key).c_str()), "rename", temp.string());
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  remove_oldest(store);
}

void touch_initramfs(const fs::path& store, const std::string& key) {
  if (!is_key(key)) return;
  const fs::path path = store / key;
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
}

std::vector<fs::path> clean_initramfs_store(const fs::path& cache_dir, bool dry_run) {
  const fs::path dir = cache_dir / "initramfs";
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return {};
  if (!dry_run) {
    fs::remove_all(dir, ec);
    base::check(!ec, "Failed to remove '" + dir.string() + "': " + ec.message());
  }
  return {dir};
}

}  // namespace supervisor
