// SandboxSpec: everything the launcher needs to start one stage, as plain
// data (the bubblewrap SetupOp idea). Nothing here knows about a particular
// stage; stages describe themselves with a StagePolicy (stage_policy.hpp).
#pragma once

#include <sys/resource.h>

#include <optional>
#include <string>
#include <vector>

#include "sandbox/seccomp.hpp"

namespace sandbox {

enum class MountKind {
  kBindRo,   // recursive bind of a host path, then read-only (recursively)
  kBindRw,   // recursive bind of a host path, writable
  kProc,     // a new procfs for the stage's pid namespace
  kDev,      // mode=755 tmpfs with null zero full random urandom bound in (and tty with kDevWithTty)
  kTmpfs,    // an empty tmpfs (options: mount data, e.g. "mode=1777,size=1g")
  kDir,      // an empty directory on the root tmpfs
  kSymlink,  // target -> source (a symlink on the root tmpfs)
};

// MountOp.options of a kDev that also binds the host's /dev/tty.
inline constexpr const char* kDevWithTty = "tty";

// One step of building the stage's root; run in order on a fresh tmpfs root.
struct MountOp {
  MountKind kind;
  std::string source;   // host path (binds), link text (symlink), unused otherwise
  std::string target;   // absolute path inside the sandbox
  std::string options;  // tmpfs mount data
  bool if_exists = false;  // binds: skip quietly when the host has no such path
};

enum class UserMapping {
  // Caller -> 0 and its /etc/subuid + /etc/subgid range -> 1..N (root:
  // 0..65535 -> root's range, never itself; userns.hpp). Files in an image
  // get real owners.
  kSubordinateRange,
  // Caller -> 0 only (like mkosi): works without /etc/subuid, but every file
  // the stage creates is owned by root and chown to other ids fails.
  kSingleId,
};

struct Rlimit {
  int resource;  // RLIMIT_*
  rlim_t soft;
  rlim_t hard;   // clamped to the caller's hard limit (only root may raise it)
};

// Host fd `source` appears in the stage as fd `target` (e.g. the stage socket
// at 3). Every other fd is closed; 0, 1, 2 default to /dev/null.
struct PassFd {
  int source;
  int target;
};

struct SandboxSpec {
  std::string executable;         // path inside the sandbox
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value"; the environment starts empty
  std::string cwd = "/";
  std::string hostname = "sandbox";
  // User, mount, pid, ipc, uts and cgroup namespaces are always new; the
  // network namespace too unless `network` is set.
  bool network = false;
  UserMapping user_mapping = UserMapping::kSubordinateRange;
  // Where subordinate ranges are read from; tests inject their own files.
  std::string subuid_path = "/etc/subuid";
  std::string subgid_path = "/etc/subgid";
  std::vector<MountOp> mounts;    // applied in order on a tmpfs root
  std::vector<int> capabilities;  // CAP_* kept after exec; empty keeps none
  SeccompPolicy seccomp;
  std::vector<Rlimit> rlimits;    // RLIMIT_CORE is always 0
  std::vector<PassFd> fds;
  // PR_SET_PDEATHSIG(SIGKILL). The kernel ties it to the *thread* that
  // spawned the stage: spawn from a thread that outlives the stage.
  bool die_with_parent = true;
};

}  // namespace sandbox
