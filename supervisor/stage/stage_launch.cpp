#include "supervisor/stage/stage_launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "build_info.hpp"
#include "base/error.hpp"
#include "sandbox/launch.hpp"
#include "sandbox/stage_owner.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using base::UniqueFd;

// Where the stage binary appears inside its sandbox.
constexpr std::string_view kStageDirInSandbox = "/run/oic";

fs::path self_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

struct Channels {
  UniqueFd parent_socket, child_socket, log_read, log_write;
};

Channels make_channels() {
  int sv[2];
  base::check_syscall(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "create the stage socket");
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    base::check_syscall(-1, "create the stage log pipe");
  }
  return {UniqueFd(sv[0]), UniqueFd(sv[1]), UniqueFd(pipefd[0]), UniqueFd(pipefd[1])};
}

UniqueFd open_pidfd(pid_t pid) {
  return UniqueFd(static_cast<int>(base::check_syscall(::syscall(SYS_pidfd_open, pid, 0), "open a pidfd for the stage")));
}

// --no-sandbox: a plain child with the same channels, for debugging a stage.
pid_t spawn_plain(const fs::path& binary, const std::vector<std::string>& extra_args, int socket_fd,
                  int log_fd, bool inherit_stdio) {
  std::vector<std::string> args = {binary.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = base::check_syscall(::fork(), "fork the stage process");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    // dup2 onto the same number keeps close-on-exec: clear it by hand then.
    if (socket_fd == 3 ? ::fcntl(3, F_SETFD, 0) < 0 : ::dup2(socket_fd, 3) < 0) ::_exit(127);
    if (!inherit_stdio) {
      const int null_fd = ::open("/dev/null", O_RDWR);
      ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::close_range(4, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

bool inside(const fs::path& path, const fs::path& dir) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return d == dir.end();
}

}  // namespace

std::vector<HostBind> planned_binds(const StageMounts& mounts) {
  std::vector<HostBind> all;
  for (const auto& path : mounts.read_only) all.push_back({path.lexically_normal(), false});
  for (const auto& path : mounts.read_write) all.push_back({path.lexically_normal(), true});
  // Outer directories first, so a read-only bind inside a writable one
  // stays read-only; at one path the writable bind wins (the job writes).
  std::sort(all.begin(), all.end(), [](const HostBind& a, const HostBind& b) {
    return a.path != b.path ? a.path < b.path : a.writable > b.writable;
  });
  std::vector<HostBind> kept;
  for (const HostBind& bind : all) {
    // Inside a bind of the same access it is already there, and stays on
    // the same mount (rename(2) between two binds fails with EXDEV).
    const bool covered = std::any_of(kept.begin(), kept.end(), [&](const HostBind& outer) {
      return inside(bind.path, outer.path) && (outer.writable == bind.writable || outer.path == bind.path);
    });
    if (!covered) kept.push_back(bind);
  }
  return kept;
}

fs::path stage_binary(ipc::proto::StageKind kind) {
  const StageInfo info = stage_info(kind);
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("OIC_STAGE_DIR"); dir && *dir) candidates.push_back(fs::path(dir) / info.binary);
  if (const fs::path here = self_dir(); !here.empty()) {
    candidates.push_back(here.parent_path() / "stages" / info.name / info.binary);  // build tree
    // Installed: libexecdir as meson placed it, reached from bindir.
    const fs::path installed = fs::path(OIC_LIBEXECDIR).lexically_relative(OIC_BINDIR);
    candidates.push_back((here / installed / info.binary).lexically_normal());
  }
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  std::string searched;
  for (const auto& c : candidates) searched += "\n  " + c.string();
  throw base::Error(base::ErrorKind::kFailed,
                   "Failed to find the executable of stage '" + std::string(info.name) + "'; searched:" + searched)
      .with_hint("build the project (ninja -C build) or set OIC_STAGE_DIR to the folder holding stage-* programs");
}

sandbox::SandboxSpec stage_sandbox_spec(ipc::proto::StageKind kind, const StageMounts& mounts,
                                        const LaunchOptions& options) {
  const StageInfo info = stage_info(kind);
  const fs::path binary = stage_binary(kind);
  const std::string inside = std::string(kStageDirInSandbox) + "/" + std::string(info.binary);
  std::vector<std::string> argv = {inside};
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  sandbox::SandboxSpec spec = sandbox::make_spec(info.policy(), inside, std::move(argv));
  spec.mounts.push_back({sandbox::MountKind::kDir, {}, std::string(kStageDirInSandbox), {}});
  spec.mounts.push_back({sandbox::MountKind::kBindRo, binary.string(), inside, {}});
  // Run by root, a stage is a subordinate uid: what it writes must be its own.
  for (const auto& path : mounts.read_write) sandbox::give_to_stage_root(path);
  for (const HostBind& bind : planned_binds(mounts)) {
    const auto kind = bind.writable ? sandbox::MountKind::kBindRw : sandbox::MountKind::kBindRo;
    spec.mounts.push_back({kind, bind.path.string(), bind.path.string(), {}});
  }
  spec.mounts.insert(spec.mounts.end(), mounts.extra.begin(), mounts.extra.end());
  if (options.single_id) spec.user_mapping = sandbox::UserMapping::kSingleId;
  return spec;
}

LaunchedStage launch_stage(ipc::proto::StageKind kind, const StageMounts& mounts, const LaunchOptions& options) {
  Channels channels = make_channels();
  LaunchedStage launched;
  if (options.sandboxed) {
    sandbox::SandboxSpec spec = stage_sandbox_spec(kind, mounts, options);
    spec.fds.push_back({channels.child_socket.get(), 3});
    if (options.inherit_stdio) {
      spec.fds.push_back({0, 0});
      spec.fds.push_back({1, 1});
      spec.fds.push_back({2, 2});
    } else {
      spec.fds.push_back({channels.log_write.get(), 1});
      spec.fds.push_back({channels.log_write.get(), 2});
    }
    sandbox::SpawnedStage spawned = sandbox::spawn(spec);
    launched.pid = spawned.pid();
    launched.pidfd = spawned.release_pidfd();
    if (!launched.pidfd) launched.pidfd = open_pidfd(launched.pid);
  } else {
    launched.pid = spawn_plain(stage_binary(kind), options.extra_args, channels.child_socket.get(),
                               channels.log_write.get(), options.inherit_stdio);
    launched.pidfd = open_pidfd(launched.pid);
  }
  launched.socket = std::move(channels.parent_socket);
  launched.log = std::move(channels.log_read);
  // The child ends close here: EOF on the socket and the log pipe then means
  // the stage (and everything it started) is gone.
  return launched;
}

}  // namespace supervisor
