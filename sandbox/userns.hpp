// uid/gid maps for a child in a new user namespace.
//
//   unprivileged caller, kSubordinateRange: caller -> 0, its /etc/subuid and
//       /etc/subgid range -> 1..N, written by newuidmap/newgidmap (setuid
//       helpers from the uidmap package; they decide about setgroups).
//   unprivileged caller, kSingleId: caller -> 0 only, written directly after
//       "deny" to setgroups (the kernel requires it). Every file the stage
//       creates is owned by root in the image; chown to other ids fails.
//   real root: the same layout written directly, as the identity map of
//       0..65535, so ids in an image are the ids on the host. The boundary
//       for root is the mount table, the capability keep-list and seccomp.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/spec.hpp"

namespace sandbox {

struct IdRange {
  uint32_t first;
  uint32_t count;
};

// The first range of `user` (by name or numeric id) in a subuid/subgid file.
std::optional<IdRange> find_subordinate_range(const std::string& path, const std::string& user,
                                              uint32_t id);

struct IdMapLine {
  uint32_t inside;
  uint32_t outside;
  uint32_t count;
};

struct IdMapPlan {
  std::vector<IdMapLine> uid;
  std::vector<IdMapLine> gid;
  bool use_helpers = false;     // newuidmap/newgidmap instead of /proc writes
  bool deny_setgroups = false;  // write "deny" to /proc/PID/setgroups first
};

// Decides the maps for the calling user before any namespace exists, so a
// missing subordinate range fails early with instructions to add one.
IdMapPlan plan_id_maps(UserMapping mode, const std::string& subuid_path,
                       const std::string& subgid_path);

// The same for an explicit caller (tests simulate users without a range).
struct Caller {
  uid_t uid;
  gid_t gid;
  std::string name;
};
IdMapPlan plan_id_maps_for(const Caller& caller, UserMapping mode, const std::string& subuid_path,
                           const std::string& subgid_path);

// Writes the maps of `pid`, a child blocked in its new user namespace.
void apply_id_maps(pid_t pid, const IdMapPlan& plan);

}  // namespace sandbox
