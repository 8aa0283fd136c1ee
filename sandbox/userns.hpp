// uid/gid maps for a child in a new user namespace.
//
//   unprivileged caller, kSubordinateRange: caller -> 0, its /etc/subuid and
//       /etc/subgid range -> 1..N, written by newuidmap/newgidmap (setuid
//       helpers from the uidmap package; they decide about setgroups).
//   unprivileged caller, kSingleId: caller -> 0 only, written directly after
//       "deny" to setgroups (the kernel requires it). Every file the stage
//       creates is owned by root in the image; chown to other ids fails.
//   real root: 0..65535 -> root's /etc/subuid and /etc/subgid range (entry
//       "root" or "0"), else kRootFallbackRange, written directly. Never
//       0 -> 0: a stage's root is an unprivileged host id, so host files
//       owned by root stay out of its reach (core_pattern, /etc, ...).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "sandbox/spec.hpp"

namespace sandbox {

struct IdRange {
  uint32_t first;
  uint32_t count;
};

// Ids mapped for a stage run as root when /etc/subuid names no range for
// root: 0x7FFC0000..+65535, in the range systemd documents as unused
// (1879048192..2147352575: above container ranges, below its foreign
// range 0x7FFE0000 and below 2^31, where tools that treat uid_t as signed break).
inline constexpr uint32_t kRootMapSize = 65536;
inline constexpr IdRange kRootFallbackRange{0x7FFC0000, kRootMapSize};

struct SubordinateEntry {
  std::string owner;  // user name or numeric id, as written
  IdRange range;
};
// Every well-formed line of a subuid/subgid file (missing file: none).
std::vector<SubordinateEntry> read_subordinate_entries(const std::string& path);

// The range for stages of a root caller in `path` (see kRootFallbackRange);
// throws when the fallback overlaps a range the file gives someone else.
IdRange root_stage_range(const std::string& path, const char* kind);

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
  // Root caller: the child starts as host uid 0, unmapped in its namespace;
  // it switches to the mapped 0 (setresuid/setresgid, no supplementary
  // groups) before anything else, and bind sources are opened by the parent.
  bool become_mapped_root = false;
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

// The text of a uid_map or gid_map file ("inside outside count" lines).
std::string id_map_text(const std::vector<IdMapLine>& lines);

// The error for a clone(CLONE_NEWUSER|...) that failed with errno `e`, with
// what to check where user namespaces are restricted.
base::Error namespace_creation_error(int e);

}  // namespace sandbox
