// Stages of an unprivileged caller with a subordinate range start in a user
// namespace nested in one mapped namespace per process.
//
// newuidmap and newgidmap (setuid execs) are the only way for an unprivileged
// process to map more than its own id, and they cost more than the rest of a
// stage start together. So they run once: for a holder namespace with the
// caller's maps (caller -> 0, subordinate range -> 1..N), kept open by fd.
// Each stage is then cloned from inside it, by a short-lived process that
// shares the caller's memory and fd table (CLONE_VM|CLONE_VFORK|CLONE_FILES,
// like posix_spawn) and has entered the holder: there it holds CAP_SETUID and
// CAP_SETGID over the stage's new namespace and writes the stage's maps (each
// id of the holder to itself) directly. CLONE_PARENT makes the stage a child
// of the caller, as a directly cloned stage is. Host ids are the same either
// way; the stage's capabilities reach only its own namespace, never the
// holder's.
#pragma once

#include <sys/types.h>

#include <csignal>

#include "sandbox/userns.hpp"

namespace sandbox {

// An fd (close-on-exec, kept for the life of the process) of a user
// namespace mapped with `plan` (plan.use_helpers). Made once per distinct map.
int mapped_user_namespace(const IdMapPlan& plan);

// The maps of a namespace nested in one mapped with `plan`: every id it maps,
// to itself.
IdMapPlan nested_identity(const IdMapPlan& plan);

struct NestedClone {
  int userns_fd;         // mapped_user_namespace()
  unsigned long flags;   // the stage's clone flags, CLONE_NEWUSER included
  const IdMapPlan* maps;  // written for the stage by the process inside the holder
  void (*child)(void* arg) noexcept;  // runs in the stage; must not return
  void* child_arg;
};

struct ClonedStage {
  pid_t pid;
  int pidfd;
};

// Clones the stage inside the holder and writes its maps. Throws with the
// failing step; a stage that exists when a later step fails is killed and
// reaped before the throw.
ClonedStage clone_nested(const NestedClone& request);

}  // namespace sandbox
