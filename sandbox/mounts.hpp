// Builds the stage's root from MountOps: a tmpfs root, the declared mounts,
// then pivot_root and detach of the host's tree. Prepared in the parent,
// executed in the child after clone without allocating.
#pragma once

#include <string>
#include <vector>

#include "sandbox/child_failure.hpp"
#include "sandbox/spec.hpp"

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
};

struct PreparedRoot {
  std::vector<PreparedMount> mounts;
};

PreparedRoot prepare_root(const std::vector<MountOp>& ops);

// In the child (new user + mount namespace): returns 0, or -errno with
// `failure` filled in. On success the cwd is the new "/".
int build_root(const PreparedRoot& root, ChildFailure& failure) noexcept;

}  // namespace sandbox
