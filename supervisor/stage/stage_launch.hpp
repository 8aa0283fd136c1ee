// Starting a stage process: the stage table says which binary and which
// policy; this file builds the channels (socket at fd 3, stderr pipe) and
// starts it sandboxed, or plainly for `stage --no-sandbox`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "ipc/stage.capnp.h"
#include "sandbox/spec.hpp"
#include "supervisor/stage/stage_run.hpp"

namespace supervisor {

// Host paths a stage run may see, besides the system's /usr and its binary.
struct StageMounts {
  std::vector<std::filesystem::path> read_only;   // bound at the same path
  std::vector<std::filesystem::path> read_write;  // bound at the same path
  // Applied after the binds, e.g. a fresh proc and a minimal dev inside the
  // tree the installer builds (maintainer scripts need both). Targets that
  // do not exist are created.
  std::vector<sandbox::MountOp> extra;
};

// One host directory or file bound at the same path inside the stage.
struct HostBind {
  std::filesystem::path path;
  bool writable;
};

// The binds of `mounts` in the order they are made: outer paths first, and
// without those already inside a bind of the same access.
std::vector<HostBind> planned_binds(const StageMounts& mounts);

struct LaunchOptions {
  bool sandboxed = true;
  bool single_id = false;          // single-uid user mapping (no /etc/subuid range)
  std::vector<std::string> extra_args;  // after the binary path, e.g. "--shell"
  bool inherit_stdio = false;      // for --shell: the terminal is the stage's
};

// The path of stage NAME's executable: $OIC_STAGE_DIR/stage-NAME, the build
// tree next to the supervisor, or the installed libexec directory.
std::filesystem::path stage_binary(ipc::proto::StageKind kind);

// The sandbox a stage of `kind` runs in for this run (policy + mounts).
sandbox::SandboxSpec stage_sandbox_spec(ipc::proto::StageKind kind, const StageMounts& mounts,
                                        const LaunchOptions& options);

LaunchedStage launch_stage(ipc::proto::StageKind kind, const StageMounts& mounts,
                           const LaunchOptions& options = {});

}  // namespace supervisor
