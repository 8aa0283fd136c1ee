// The host ids a stage's root has, for files the supervisor makes for a
// stage to write. An unprivileged caller is itself root in its stages, so
// nothing changes hands; a root caller's stages run as a subordinate range
// (userns.hpp), and a directory a stage must write is handed to that range.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

namespace sandbox {

struct HostOwner {
  uid_t uid;
  gid_t gid;
};

// The host uid/gid of uid 0 in a stage started by this process with the
// default /etc/subuid and /etc/subgid; nullopt unless this process is root.
std::optional<HostOwner> stage_root_owner();

// Makes `path` (something the caller made, owned by root; a symlink is not
// followed) owned by the stage's root. Refuses anything root does not own.
// A no-op for an unprivileged caller.
void give_to_stage_root(const std::filesystem::path& path);

}  // namespace sandbox
