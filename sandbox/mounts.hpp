// Builds the stage's root from MountOps: a tmpfs root, the declared mounts,
// then pivot_root and detach of the host's tree. Prepared in the parent,
// executed in the child after clone without allocating.
#pragma once

#include <string>
#include <vector>

#include "sandbox/child_failure.hpp"
#include "sandbox/spec.hpp"
#include "base/unique_fd.hpp"

namespace sandbox {

struct PreparedMount {
  MountKind kind;
  std::string source;   // host path as seen after the first pivot ("/oldroot/...")
  std::string target;   // "/newroot/..."
  std::string link;     // symlink text (kSymlink)
  std::string options;  // tmpfs data
  std::string shown;    // the target as the stage sees it, for messages
  bool if_exists;
  std::vector<std::string> parents;  // directories to create first, outermost first
  std::vector<std::pair<std::string, std::string>> device_binds;  // kDev: host -> target
  std::vector<std::pair<std::string, std::string>> device_links;  // kDev: text -> target
  // Binds with BindSources::kDetachedByParent: the source as a detached
  // mount (owned by PreparedRoot::trees), or none when if_exists found nothing.
  int tree_fd = -1;
  bool source_is_dir = false;
  bool source_absent = false;
  std::vector<std::string> proc_read_only;  // kProc: bound read-only over themselves
  std::vector<std::string> proc_masked;     // kProc: hidden (/dev/null or an empty tmpfs)
};

struct PreparedRoot {
  std::vector<PreparedMount> mounts;
  std::vector<base::UniqueFd> trees;  // detached bind sources, closed after the child is set up
};

enum class BindSources {
  kByPath,             // the child binds /oldroot/<source> (it has the caller's host uid)
  // The parent clones each source with open_tree() and the child attaches it:
  // a root caller's child runs as a subordinate uid that cannot traverse
  // root-only directories such as /root (0700).
  kDetachedByParent,
};

PreparedRoot prepare_root(const std::vector<MountOp>& ops, BindSources sources = BindSources::kByPath);

// Paths of every procfs mount that runc makes read-only or masks.
const std::vector<const char*>& proc_read_only_paths();
const std::vector<const char*>& proc_masked_paths();

// In the child (new user + mount namespace): returns 0, or -errno with
// `failure` filled in. On success the cwd is the new "/".
int build_root(const PreparedRoot& root, ChildFailure& failure) noexcept;

}  // namespace sandbox
