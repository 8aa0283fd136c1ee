#include "supervisor/cache/package_cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "supervisor/cache/private_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kRunPrefix = "run-";
constexpr const char* kLockName = ".lock";

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void require_sha256(std::string_view sha256) {
  base::require(is_sha256_hex(sha256),
               "Failed to use package cache key '" + std::string(sha256) + "': not 64 lowercase hex digits");
}

// SHA-256 of an open file from offset 0, with libcrypto.
std::string sha256_of_fd(int fd, const fs::path& path) {
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  base::check(ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1, "Failed to initialise SHA-256");
  std::array<char, 1 << 16> buffer;
  for (off_t offset = 0;;) {
    const ssize_t n = base::check_syscall(::pread(fd, buffer.data(), buffer.size(), offset), "read", path.string());
    if (n == 0) break;
    base::check(EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n)) == 1, "Failed to hash");
    offset += n;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int size = 0;
  base::check(EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) == 1, "Failed to finish SHA-256");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

base::UniqueFd open_or_throw(const fs::path& path, int flags, mode_t mode = 0644) {
  return base::UniqueFd(base::check_syscall(::open(path.c_str(), flags | O_CLOEXEC, mode), "open", path.string()));
}

// flock that restarts after signals; false only for LOCK_NB contention.
bool lock_fd(int fd, int operation, const fs::path& path) {
  while (::flock(fd, operation) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK && (operation & LOCK_NB)) return false;
    base::check_syscall(-1, "lock", path.string());
  }
  return true;
}

constexpr const char* kMarkerSuffix = ".checked";

// Concurrent writers of the same path never see each other's half.
void write_file_atomically(const fs::path& path, std::string_view content) {
  base::write_file_replacing(path.string(), content, 0644);
}

// Removes `path`; a missing file is fine, any other failure is an error.
void unlink_if_present(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) base::check_syscall(-1, "remove", path.string());
}

std::string read_small_file(const fs::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return {};
  std::array<char, 512> buffer;
  const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
  return n > 0 ? std::string(buffer.data(), static_cast<std::size_t>(n)) : std::string();
}

// A staged file is what a stage wrote: it must be a regular file with no
// other name (a hard link could make the object share its inode with a
// file the stage keeps changing).
struct stat require_single_file(int fd, const fs::path& path) {
  struct stat st {};
  base::check_syscall(::fstat(fd, &st), "inspect", path.string());
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to use '" + path.string() + "': " +
                                                 (S_ISREG(st.st_mode) ? "it has another name (a hard link)"
                                                                      : "it is not a regular file"));
  }
  return st;
}

}  // namespace

// The rename moved a path, not the fd that was hashed: the object is only
// kept if it is the same file.
void PackageCache::require_same_file(const struct stat& hashed, const fs::path& object, const ObjectLock& lock) {
  struct stat now {};
  if (::lstat(object.c_str(), &now) == 0 && now.st_dev == hashed.st_dev && now.st_ino == hashed.st_ino) return;
  evict(lock);
  base::fail(base::ErrorKind::kInvalidInput,
            "Failed to commit '" + object.string() + "': the staged file was replaced while it was checked");
}

StagingArea::~StagingArea() {
  if (dir_.empty()) return;  // moved from
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

PackageCache::PackageCache(fs::path root, CacheAccess access) : root_(std::move(root)), access_(access) {
  base::ErrorContext ctx("opening the package cache", root_.string());
  keep_private(root_, 0700);
  if (access_ == CacheAccess::kBuild) {
    // Other ids may pass through packages/ (a root caller's stages read it
    // through a read-only bind), never list it; the root keeps others out.
    keep_private(root_ / "packages", 0711);
    for (const auto* sub : {"packages/sha256", "metadata", "tmp"}) base::make_directories(root_ / sub);
  }
  const fs::path lock_path = root_ / kLockName;
  cache_lock_ = open_or_throw(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW);
  if (access_ == CacheAccess::kBuild) {
    lock_fd(cache_lock_.get(), LOCK_SH, lock_path);
    remove_dead_staging();
    return;
  }
  if (!lock_fd(cache_lock_.get(), LOCK_EX | LOCK_NB, lock_path)) {
    throw base::Error(base::ErrorKind::kOverloaded,
                     "Failed to lock the package cache '" + root_.string() + "': a build is using it")
        .with_hint("Run the cache maintenance again when no build is running.");
  }
}

void PackageCache::keep_private(const fs::path& dir, mode_t allowed) {
  if (std::optional<std::string> warning = make_private_dir(dir, allowed)) warnings_.push_back(std::move(*warning));
}

fs::path PackageCache::object_path(std::string_view sha256) const {
  require_sha256(sha256);
  return root_ / "packages/sha256" / std::string(sha256.substr(0, 2)) / std::string(sha256);
}

StagingArea PackageCache::make_staging_area() {
  // Built under a name the sweeper ignores, and renamed to run-* only once
  // its lock is held, so a live area is never mistaken for a dead one.
  std::string pattern = (root_ / "tmp" / ".new-XXXXXX").string();
  base::check(::mkdtemp(pattern.data()) != nullptr, "Failed to create a staging directory in '" +
                                                        (root_ / "tmp").string() + "': " + std::strerror(errno));
  const fs::path building = pattern;
  auto lock = open_or_throw(building / kLockName, O_RDWR | O_CREAT | O_NOFOLLOW);
  lock_fd(lock.get(), LOCK_EX, building / kLockName);
  fs::path dir = root_ / "tmp" / (std::string(kRunPrefix) + building.filename().string().substr(5));
  base::check_syscall(::rename(building.c_str(), dir.c_str()), "rename", building.string());
  return StagingArea(std::move(dir), std::move(lock));
}

void PackageCache::remove_dead_staging() {
  std::error_code ec;
  for (fs::directory_iterator it(root_ / "tmp", ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->path().filename().string().starts_with(kRunPrefix) || it->is_symlink()) continue;
    base::UniqueFd lock(::open((it->path() / kLockName).c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    // No lock file or a lock nobody holds: the owner is gone.
    if (!lock || lock_fd(lock.get(), LOCK_EX | LOCK_NB, it->path() / kLockName)) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
}

ObjectLock PackageCache::lock_object(std::string_view sha256) {
  const fs::path object = object_path(sha256);
  base::make_directories(object.parent_path());
  const fs::path lock_path = object.string() + ".lock";
  auto fd = open_or_throw(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW);
  lock_fd(fd.get(), LOCK_EX, lock_path);
  return ObjectLock(std::string(sha256), std::move(fd));
}

CacheLookup PackageCache::open_verified(const ObjectLock& lock) {
  const fs::path object = object_path(lock.sha256());
  CacheLookup lookup;
  base::UniqueFd fd(::open(object.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return lookup;
    base::check_syscall(-1, "open", object.string());
  }
  const std::string actual = sha256_of_fd(fd.get(), object);
  if (actual == lock.sha256()) {
    lookup.status = CacheLookup::Status::kHit;
    lookup.fd = std::move(fd);
    lookup.path = object;
    return lookup;
  }
  const std::string name = read_small_file(object.string() + ".name");
  evict(lock);
  lookup.status = CacheLookup::Status::kEvicted;
  lookup.message = "Evicted corrupt package cache object '" + (name.empty() ? "?" : name) + "' (" +
                   object.string() + "): sha256 is " + actual + ", expected " + lock.sha256();
  return lookup;
}

fs::path PackageCache::commit(const ObjectLock& lock, const fs::path& staged, std::string_view original_name) {
  base::ErrorContext ctx("adding to the package cache", staged.string());
  const fs::path object = object_path(lock.sha256());
  {
    const auto fd = open_or_throw(staged, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    const struct stat staged_stat = require_single_file(fd.get(), staged);
    const std::string actual = sha256_of_fd(fd.get(), staged);
    if (actual != lock.sha256()) {
      ::unlink(staged.c_str());
      base::fail(base::ErrorKind::kInvalidInput, "Failed to commit '" + staged.string() +
                                                   "' to the package cache: sha256 is " + actual + ", expected " +
                                                   lock.sha256());
    }
    base::check_syscall(::fchmod(fd.get(), 0444), "chmod", staged.string());
    // No fsync: every object is re-hashed before each use, so one torn by a
    // crash is evicted and fetched again, never used.
    if (!original_name.empty()) write_file_atomically(object.string() + ".name", original_name);
    if (::rename(staged.c_str(), object.c_str()) != 0) {
      if (errno == EXDEV) {
        throw base::Error(base::ErrorKind::kInvalidInput,
                         "Failed to commit '" + staged.string() + "': it is not on the cache's file system")
            .with_hint("Stage downloads in a directory from make_staging_area().");
      }
      base::check_syscall(-1, "rename into the cache", staged.string());
    }
    require_same_file(staged_stat, object, lock);
  }
  return object;
}

bool PackageCache::archive_checked(std::string_view sha256) const {
  return read_small_file(object_path(sha256).string() + kMarkerSuffix) == kArchiveCheckMarker;
}

void PackageCache::mark_archive_checked(std::string_view sha256) {
  write_file_atomically(object_path(sha256).string() + kMarkerSuffix, kArchiveCheckMarker);
}

void PackageCache::evict(const ObjectLock& lock) {
  const fs::path object = object_path(lock.sha256());
  // The marker first: an object without one is only checked again.
  unlink_if_present(object.string() + kMarkerSuffix);
  unlink_if_present(object);
  unlink_if_present(object.string() + ".name");
}

fs::path PackageCache::index_text_path(std::string_view compressed_sha256) const {
  require_sha256(compressed_sha256);
  return root_ / "metadata/indexes" / std::string(compressed_sha256);
}

fs::path PackageCache::commit_index_text(const fs::path& staged, std::string_view compressed_sha256,
                                         std::string_view text_sha256, std::uint64_t text_size) {
  base::ErrorContext ctx("adding an index to the metadata cache", staged.string());
  const fs::path target = index_text_path(compressed_sha256);
  {
    const auto fd = open_or_throw(staged, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    const struct stat st = require_single_file(fd.get(), staged);
    const std::string actual = sha256_of_fd(fd.get(), staged);
    if (actual != text_sha256 || static_cast<std::uint64_t>(st.st_size) != text_size) {
      ::unlink(staged.c_str());
      base::fail(base::ErrorKind::kInvalidInput, "Failed to commit '" + staged.string() +
                                                   "' to the metadata cache: sha256 is " + actual + " (" +
                                                   std::to_string(st.st_size) + " bytes), expected " +
                                                   std::string(text_sha256) + " (" + std::to_string(text_size) +
                                                   " bytes)");
    }
    base::check_syscall(::fchmod(fd.get(), 0444), "chmod", staged.string());
  }
  base::make_directories(target.parent_path());
  base::check_syscall(::rename(staged.c_str(), target.c_str()), "rename into the metadata cache", staged.string());
  return target;
}

CleanReport PackageCache::clean(const CleanScope& scope, bool dry_run) {
  base::check(access_ == CacheAccess::kMaintenance, "PackageCache::clean needs CacheAccess::kMaintenance");
  std::vector<std::string> names;
  if (scope.metadata) names.emplace_back("metadata");
  if (scope.packages) names.emplace_back("packages");
  // The exclusive lock means no build is live, so all of tmp/ is left over.
  if (scope.staging) names.emplace_back("tmp");
  const auto root = open_or_throw(root_, O_RDONLY | O_DIRECTORY);
  CleanReport report;
  for (const std::string& name : names) {  // already sorted
    struct stat st {};
    if (::fstatat(root.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) base::check_syscall(-1, "inspect", (root_ / name).string());
      report.missing.push_back(root_ / name);
      continue;
    }
    if (!dry_run) remove_tree_at(root.get(), name, root_ / name);
    report.removed.push_back(root_ / name);
  }
  return report;
}

CleanReport PackageCache::clean_objects(const std::vector<std::string>& sha256s, bool dry_run) {
  base::check(access_ == CacheAccess::kMaintenance, "PackageCache::clean_objects needs CacheAccess::kMaintenance");
  CleanReport report;
  for (const std::string& sha256 : sha256s) {
    const fs::path object = object_path(sha256);
    bool found = false;
    for (const char* suffix : {"", ".checked", ".lock", ".name"}) {
      const fs::path file = object.string() + suffix;
      struct stat st {};
      if (::lstat(file.c_str(), &st) != 0) {
        if (errno != ENOENT) base::check_syscall(-1, "inspect", file.string());
        continue;
      }
      if (!dry_run) unlink_if_present(file);
      report.removed.push_back(file);
      found = found || *suffix == '\0';
    }
    if (!found) report.missing.push_back(object);
  }
  std::sort(report.removed.begin(), report.removed.end());
  std::sort(report.missing.begin(), report.missing.end());
  return report;
}

void remove_tree_at(int dirfd, const std::string& name, const fs::path& shown) {
  struct stat st {};
  base::check_syscall(::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), "inspect", shown.string());
  if (S_ISDIR(st.st_mode)) {
    const int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    base::UniqueFd dir(base::check_syscall(fd, "open directory", shown.string()));
    const int listing_fd = base::check_syscall(::dup(dir.get()), "duplicate descriptor of", shown.string());
    std::unique_ptr<DIR, int (*)(DIR*)> listing(::fdopendir(listing_fd), ::closedir);
    if (!listing) {
      ::close(listing_fd);
      base::check_syscall(-1, "list directory", shown.string());
    }
    std::vector<std::string> children;
    while (const dirent* entry = ::readdir(listing.get())) {
      const std::string child = entry->d_name;
      if (child != "." && child != "..") children.push_back(child);
    }
    for (const std::string& child : children) remove_tree_at(dir.get(), child, shown / child);
  }
  base::check_syscall(::unlinkat(dirfd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0), "remove",
                     shown.string());
}

}  // namespace supervisor
