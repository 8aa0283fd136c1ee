#include "supervisor/cache/build_env_cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <cstdio>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "sandbox/tree_removal.hpp"
#include "supervisor/cache/digest.hpp"
#include "supervisor/cache/private_dir.hpp"
#include "supervisor/cache/provider_records.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMarker = "complete";
constexpr const char* kProviderFile = "provider";

bool is_complete(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kMarker, ec) && fs::is_directory(dir / "tree", ec);
}

// A new file: nothing found under its name is followed or reused.
void write_new_file(const fs::path& path, const std::string& text) {
  base::UniqueFd out(base::check_syscall(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644), "create", path.string()));
  base::check(::write(out.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()),
             "Failed to write '" + path.string() + "'");
}

// The provider a save was recorded for; "" when it has no record.
std::string recorded_provider(const fs::path& dir) {
  std::ifstream in(dir / kProviderFile);
  std::string line;
  std::getline(in, line);
  return line;
}

// A save of `provider_id` under root (complete, or a .tmp-* one) and the
// lock of its key.
std::vector<fs::path> saves_of(const fs::path& root, const std::string& provider_id) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_directory(ec) || recorded_provider(it->path()) != provider_id) continue;
    found.push_back(it->path());
    const fs::path lock = root / (it->path().filename().string() + ".lock");
    if (fs::is_regular_file(fs::symlink_status(lock, ec))) found.push_back(lock);
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

std::string build_env_key(std::string_view provider_id, const Lockfile& lock, std::int64_t build_time,
                          int installer_format) {
  // One field per line, so no two package sets can serialise alike.
  std::string text = "os-image-composer build environment\ninstaller-format " + std::to_string(installer_format) +
                     "\nprovider " + std::string(provider_id) + "\n";
  if (build_time >= 0) text += "time " + std::to_string(build_time) + "\n";
  for (const LockedPackage& p : lock.packages) {
    text += "package " + p.name + " " + p.version + " " + p.architecture + " " + p.sha256 + "\n";
  }
  return sha256_hex(text);
}

BuildEnvLease BuildEnvLease::acquire(const fs::path& cache_dir, std::string_view provider_id, std::string key) {
  base::check(key.size() == 64 && key.find('/') == std::string::npos, "bad build environment key '" + key + "'");
  base::check(is_provider_id(provider_id), "bad provider id '" + std::string(provider_id) + "'");
  BuildEnvLease lease(cache_dir / "buildenv", std::string(provider_id), std::move(key));
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
  base::make_directories(tree_);
  write_new_file(temp_ / kProviderFile, provider_id_ + "\n");
  mode_ = BuildEnvMode::kSave;
}

BuildEnvLease::BuildEnvLease(BuildEnvLease&& other) noexcept
    : root_(std::move(other.root_)),
      provider_id_(std::move(other.provider_id_)),
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
  write_new_file(final_dir / kMarker, key_ + "\n");
}

std::vector<fs::path> clean_build_envs(const fs::path& cache_dir, const std::optional<std::string>& provider_id,
                                       bool dry_run) {
  const fs::path root = cache_dir / "buildenv";
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec))) return {};
  const std::vector<fs::path> targets = provider_id ? saves_of(root, *provider_id) : std::vector<fs::path>{root};
  if (!dry_run) {
    for (const fs::path& target : targets) sandbox::remove_tree(target);
  }
  return targets;
}

}  // namespace supervisor
