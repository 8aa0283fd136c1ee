// The cached build environment: the bootstrapped base of an image (every
// package installed, no OS configuration) that the installer saves once and
// copies on later builds of the same package set (docs/image-build.md).
//
//   <cache_dir>/buildenv/<key>/tree            the base, owned by subordinate ids
//   <cache_dir>/buildenv/<key>/complete        written after a successful save
//   <cache_dir>/buildenv/<key>/provider        the provider id (for `cache clean --provider-id`)
//   <cache_dir>/buildenv/<key>.lock            flock: exclusive while saving
//   <cache_dir>/buildenv/.tmp-<key>-<pid>/tree  a save in progress
//
// <cache_dir> and buildenv/ are 0700 (an existing one with more is
// tightened): the trees hold the image's setuid files, which no other user
// of the machine may reach.
//
// A save goes to a temporary directory renamed to <key> only after the
// install job succeeded, so a reader never sees half a tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.hpp"
#include "supervisor/build/lockfile.hpp"

namespace supervisor {

// Bumped whenever what the installer puts into a saved base changes.
inline constexpr int kInstallerFormatVersion = 3;  // 2: no SSH host keys; 3: no initramfs before configuration

// sha256 (hex) over the provider id, every package of `lock` (name, version,
// architecture, sha256) in lockfile order, the build's SOURCE_DATE_EPOCH
// (`build_time`, -1 for none: the base is installed under it, and useradd
// and others write it into files) and the installer format version.
std::string build_env_key(std::string_view provider_id, const Lockfile& lock, std::int64_t build_time,
                          int installer_format = kInstallerFormatVersion);

enum class BuildEnvMode {
  kNone,   // another build is saving this key: install without the cache
  kReuse,  // copy tree() instead of installing
  kSave,   // install, then copy the base into the empty tree()
};

// One build's use of one key. In kSave mode the key's lock is held until
// commit() or destruction; an uncommitted save is removed on destruction.
class BuildEnvLease {
 public:
  // `provider_id` is recorded with a save, so a clean can narrow to it.
  static BuildEnvLease acquire(const std::filesystem::path& cache_dir, std::string_view provider_id, std::string key);

  BuildEnvLease(BuildEnvLease&& other) noexcept;
  BuildEnvLease& operator=(BuildEnvLease&&) = delete;
  BuildEnvLease(const BuildEnvLease&) = delete;
  BuildEnvLease& operator=(const BuildEnvLease&) = delete;
  ~BuildEnvLease();

  BuildEnvMode mode() const noexcept { return mode_; }
  const std::string& key() const noexcept { return key_; }
  // kReuse: <key>/tree; kSave: .tmp-<key>-<pid>/tree (created empty); kNone: empty.
  const std::filesystem::path& tree() const noexcept { return tree_; }
  // Where the tree is once complete (<key>/tree), in every mode but kNone.
  std::filesystem::path saved_tree() const { return root_ / key_ / "tree"; }
  // Directory modes acquire() had to tighten, for the caller to log.
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }

  // kSave only, after the install job succeeded: renames the temporary
  // directory to <key> and writes the completion marker.
  void commit();

 private:
  BuildEnvLease(std::filesystem::path root, std::string provider_id, std::string key)
      : root_(std::move(root)), provider_id_(std::move(provider_id)), key_(std::move(key)) {}
  void prepare_save();

  std::filesystem::path root_;  // <cache_dir>/buildenv
  std::string provider_id_;
  std::string key_;
  BuildEnvMode mode_ = BuildEnvMode::kNone;
  std::filesystem::path tree_;
  std::filesystem::path temp_;  // kSave: .tmp-<key>-<pid>
  base::UniqueFd lock_;
  bool committed_ = false;
  std::vector<std::string> warnings_;
};

// `cache clean`: removes <cache_dir>/buildenv, or with `provider_id` only
// the saves (complete or not) recorded for that provider and their locks
// (the trees belong to subordinate ids, so through sandbox::remove_tree).
// The caller keeps builds out (the package cache's maintenance lock).
// Returns what was (or, with dry_run, would be) removed, sorted; empty when
// there is nothing. Saves made before providers were recorded go only with
// the whole directory.
std::vector<std::filesystem::path> clean_build_envs(const std::filesystem::path& cache_dir,
                                                    const std::optional<std::string>& provider_id, bool dry_run);

}  // namespace supervisor
