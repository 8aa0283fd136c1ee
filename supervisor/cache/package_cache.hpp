// The content-addressed package cache shared by every build on this machine.
//
//   <cache_dir>/packages/sha256/<2 hex>/<64 hex>    a verified object, mode 0444
//   <cache_dir>/packages/sha256/<2 hex>/<64 hex>.name  its original file name, for humans
//   <cache_dir>/packages/sha256/<2 hex>/<64 hex>.lock  flock: one writer per object
//   <cache_dir>/packages/sha256/<2 hex>/<64 hex>.checked  the verifier accepted its archive contents
//   <cache_dir>/metadata/                         repository indexes
//   <cache_dir>/metadata/indexes/<64 hex>         a decompressed index, mode 0444, named by the
//                                                 sha256 of the compressed file its Release lists
//   <cache_dir>/tmp/run-*/                        staging of one live build
//   <cache_dir>/.lock                             flock: shared by builds, exclusive for clean
//
// The root is 0700 and packages/ 0711 (an existing directory with more is
// tightened, with a warning): no other user of the machine reads what the
// cache holds or plants anything in it; other ids only pass through
// packages/ (a root caller's stages, to their read-only bind).
//
// An object enters only through commit(), which re-hashes it, and is re-hashed
// again by open_verified() before each use. Two builds that need the same
// object serialise on its lock: the second waits, then finds it present.
// The archive-content check runs apart from the download (see
// package_fetch.hpp); its verdict is kept in a marker beside the object. The
// store is content-addressed, so a marker stays true for its hash; it goes
// whenever its object does (eviction, clean).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.hpp"

namespace supervisor {

enum class CacheAccess {
  kBuild,        // shared with other builds; waits while a clean runs
  kMaintenance,  // exclusive; fails at once while a build holds the cache
};

struct CleanScope {
  bool packages = false;  // packages/: every object (and its .name and .lock)
  bool metadata = false;  // metadata/: every repository index
  bool staging = true;    // tmp/: leftovers of killed runs
};

// What clean() removed (or would remove): the top directories of the scope.
struct CleanReport {
  std::vector<std::filesystem::path> removed;  // sorted
  std::vector<std::filesystem::path> missing;  // in the scope but not there; sorted
};

// Proof that this process holds the per-object lock; released on destruction.
class ObjectLock {
 public:
  const std::string& sha256() const noexcept { return sha256_; }

 private:
  friend class PackageCache;
  ObjectLock(std::string sha256, base::UniqueFd fd) : sha256_(std::move(sha256)), fd_(std::move(fd)) {}
  std::string sha256_;
  base::UniqueFd fd_;
};

struct CacheLookup {
  enum class Status { kHit, kMiss, kEvicted };
  Status status = Status::kMiss;
  base::UniqueFd fd;          // kHit: read-only, at offset 0
  std::filesystem::path path;    // kHit
  std::string message;           // kEvicted: names the object and both hashes
};

// A private directory under tmp/ for one build's downloads. A lock held for
// its lifetime tells other builds it is live; it is removed on destruction,
// and by the next build if this process is killed.
class StagingArea {
 public:
  StagingArea(StagingArea&&) noexcept = default;
  StagingArea& operator=(StagingArea&&) noexcept = default;
  ~StagingArea();
  const std::filesystem::path& dir() const noexcept { return dir_; }

 private:
  friend class PackageCache;
  StagingArea(std::filesystem::path dir, base::UniqueFd lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  std::filesystem::path dir_;
  base::UniqueFd lock_;
};

// Removes `name` in the directory `dirfd` and, for a real directory,
// everything below it, through directory fds opened with O_NOFOLLOW: a
// symlink is removed as a link and never followed. `shown` names it in errors.
void remove_tree_at(int dirfd, const std::string& name, const std::filesystem::path& shown);

// What a marker holds. Raise the number when the archive check gets
// stricter, so objects accepted under the old rules are checked again.
inline constexpr std::string_view kArchiveCheckMarker = "archive-check 1\n";

class PackageCache {
 public:
  // Takes the cache-wide lock. A kBuild cache creates the layout if needed
  // and removes staging directories of dead runs; a kMaintenance one creates
  // nothing but the root and its lock file.
  PackageCache(std::filesystem::path root, CacheAccess access);

  const std::filesystem::path& root() const noexcept { return root_; }
  // What opening the cache had to repair (modes of directories others could
  // enter), for the caller to log.
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }
  std::filesystem::path metadata_dir() const { return root_ / "metadata"; }
  std::filesystem::path object_path(std::string_view sha256) const;

  StagingArea make_staging_area();

  // Blocks while another process holds the same object's lock.
  ObjectLock lock_object(std::string_view sha256);

  // Re-hashes the object; a corrupt one is evicted (kEvicted) so the caller
  // downloads it again.
  CacheLookup open_verified(const ObjectLock& lock);

  // Re-hashes `staged` (a file under a staging area, already accepted by the
  // verifier) and renames it into the store. On a mismatch the staged file is
  // removed and kInvalidInput is thrown; nothing enters the store.
  std::filesystem::path commit(const ObjectLock& lock, const std::filesystem::path& staged,
                               std::string_view original_name);

  // True when the object's marker says the verifier accepted its archive
  // contents under the current rules (kArchiveCheckMarker).
  bool archive_checked(std::string_view sha256) const;
  // Records that verdict, atomically; call only after the verifier accepted
  // the object with this hash.
  void mark_archive_checked(std::string_view sha256);
  // Removes the object, its .name and its marker (e.g. it failed the archive
  // check); nothing is an error if already gone.
  void evict(const ObjectLock& lock);

  // Where the decompressed text of the compressed index whose sha256 is
  // `compressed_sha256` is kept. A copy is used only after the verifier
  // re-hashed it against the uncompressed entry of a Release that lists this
  // same compressed sha256, so it is never stale and never used corrupt.
  std::filesystem::path index_text_path(std::string_view compressed_sha256) const;

  // Re-hashes `staged` (written by the verifier under a staging area, and
  // checked by it against the Release) and renames it to
  // index_text_path(compressed_sha256), replacing a corrupt copy. A mismatch
  // removes `staged` and throws kInvalidInput.
  std::filesystem::path commit_index_text(const std::filesystem::path& staged, std::string_view compressed_sha256,
                                          std::string_view text_sha256, std::uint64_t text_size);

  // Removes the top directories `scope` names, whole (needs kMaintenance;
  // a later build creates them again). A symlink inside is removed as a
  // link, never followed. With dry_run, reports them and removes nothing.
  CleanReport clean(const CleanScope& scope, bool dry_run);

  // Removes these objects, each with its .name, .lock and .checked files
  // (needs kMaintenance): `cache clean --provider-id`. `removed` lists every
  // file that was (or, with dry_run, would be) removed; `missing` the
  // objects that were not there.
  CleanReport clean_objects(const std::vector<std::string>& sha256s, bool dry_run);

 private:
  void remove_dead_staging();
  void keep_private(const std::filesystem::path& dir, mode_t allowed);
  void require_same_file(const struct stat& hashed, const std::filesystem::path& object, const ObjectLock& lock);

  std::filesystem::path root_;
  std::vector<std::string> warnings_;
  CacheAccess access_;
  base::UniqueFd cache_lock_;
};

}  // namespace supervisor
