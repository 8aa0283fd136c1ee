#include "supervisor/cache/build_env_cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "base/error.hpp"
#include "sandbox/tree_removal.hpp"
#include "supervisor/cache/digest.hpp"
#include "supervisor/cache/private_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMarker = "complete";

bool is_complete(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kMarker, ec) && fs::is_directory(dir / "tree", ec);
}

void create_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw base::Error(base::ErrorKind::kFailed, "Failed to create directory '" + dir.string() + "': " + ec.message());
}

}  // namespace

std::string build_env_key(std::string_view provider_id, const Lockfile& lock, int installer_format) {
  // One field per line, so no two package sets can serialise alike.
  std::string text = "os-image-composer build environment\ninstaller-format " + std::to_string(installer_format) +
                     "\nprovider " + std::string(provider_id) + "\n";
  for (const LockedPackage& p : lock.packages) {
    text += "package " + p.name + " " + p.version + " " + p.architecture + " " + p.sha256 + "\n";
  }
  return sha256_hex(text);
}

BuildEnvLease BuildEnvLease::acquire(const fs::path& cache_dir, std::string key) {
  base::check(key.size() == 64 && key.find('/') == std::string::npos, "bad build environment key '" + key + "'");
  BuildEnvLease lease(cache_dir / "buildenv", std::move(key));
  // Saved trees hold the image's setuid files: no other user may reach them.
  for (const fs::path& dir : {cache_dir, lease.root_}) {
    if (std::optional<std::string> warning = make_private_dir(dir)) lease.warnings_.push_back(std::move(*warning));
  }
  const fs::path lock_path = lease.root_ / (lease.key_ + ".lock");
  lease.lock_ = base::UniqueFd(
      base::check_syscall(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644), "open", lock_path.string()));
  const fs::path final_dir = lease.root_ / lease.key_;
  if (is_complete(final_dir)) {
    // Only a saver holds the lock exclusively, and nobody saves a complete key.
    base::check_syscall(::flock(lease.lock_.get(), LOCK_SH), "lock", lock_path.string());
    lease.mode_ = BuildEnvMode::kReuse;
    lease.tree_ = final_dir / "tree";
    return lease;
  }
  if (::flock(lease.lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) base::check_syscall(-1, "lock", lock_path.string());
    lease.lock_.reset();  // another build is saving: install without the cache
    return lease;
  }
  if (is_complete(final_dir)) {  // finished between the first look and the lock
    base::check_syscall(::flock(lease.lock_.get(), LOCK_SH), "lock", lock_path.string());
    lease.mode_ = BuildEnvMode::kReuse;
    lease.tree_ = final_dir / "tree";
    return lease;
  }
  lease.prepare_save();
  return lease;
}

// Holding the exclusive lock: leftovers of killed saves of this key (and a
// <key> directory renamed but never marked complete) can go.
void BuildEnvLease::prepare_save() {
  const std::string prefix = ".tmp-" + key_ + "-";
  std::vector<fs::path> stale;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with(prefix)) stale.push_back(it->path());
  }
  if (fs::exists(root_ / key_, ec)) stale.push_back(root_ / key_);
  for (const fs::path& dir : stale) sandbox::remove_tree(dir);
  temp_ = root_ / (prefix + std::to_string(::getpid()));
  tree_ = temp_ / "tree";
  create_dirs(tree_);
  mode_ = BuildEnvMode::kSave;
}

BuildEnvLease::BuildEnvLease(BuildEnvLease&& other) noexcept
    : root_(std::move(other.root_)),
      key_(std::move(other.key_)),
      mode_(other.mode_),
      tree_(std::move(other.tree_)),
      temp_(std::move(other.temp_)),
      lock_(std::move(other.lock_)),
      committed_(other.committed_),
      warnings_(std::move(other.warnings_)) {
  other.mode_ = BuildEnvMode::kNone;
  other.temp_.clear();
}

BuildEnvLease::~BuildEnvLease() {
  if (mode_ != BuildEnvMode::kSave || committed_ || temp_.empty()) return;
  try {
    sandbox::remove_tree(temp_);
  } catch (const base::Error& e) {
    // A destructor must not throw; the next save of this key removes it.
    std::fprintf(stderr, "warning: %s\n", e.what());
  }
}

void BuildEnvLease::commit() {
  base::check(mode_ == BuildEnvMode::kSave && !committed_, "commit() of a build environment that is not being saved");
  const fs::path final_dir = root_ / key_;
  base::check_syscall(::rename(temp_.c_str(), final_dir.c_str()), "rename the saved build environment to",
                     final_dir.string());
  committed_ = true;
  tree_ = final_dir / "tree";
  // A new file: nothing found under its name is followed or reused.
  const fs::path marker = final_dir / kMarker;
  const std::string text = key_ + "\n";
  base::UniqueFd out(base::check_syscall(
      ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644), "create", marker.string()));
  base::check(::write(out.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()),
             "Failed to write '" + marker.string() + "'");
}

std::vector<fs::path> clean_build_envs(const fs::path& cache_dir, bool dry_run) {
  const fs::path root = cache_dir / "buildenv";
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec))) return {};
  if (!dry_run) sandbox::remove_tree(root);
  return {root};
}

}  // namespace supervisor
