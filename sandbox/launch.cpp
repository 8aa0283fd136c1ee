#include "sandbox/launch.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

#include "base/error.hpp"
#include "sandbox/caps.hpp"
#include "sandbox/child_failure.hpp"
#include "sandbox/mounts.hpp"
#include "sandbox/nested_userns.hpp"
#include "sandbox/userns.hpp"

namespace sandbox {

SpawnedStage::~SpawnedStage() {
  if (pid_ > 0 && !reaped_) {
    kill(SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

SpawnedStage::SpawnedStage(SpawnedStage&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)), reaped_(other.reaped_) {}

int SpawnedStage::wait() {
  base::check(!reaped_, "Failed to wait for stage: already reaped");
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) base::check_syscall(-1, "wait for stage pid", std::to_string(pid_));
  }
  reaped_ = true;
  return status;
}

void SpawnedStage::kill(int signal) noexcept {
  if (reaped_ || pid_ <= 0) return;
  if (pidfd_) {
    syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0);
  } else {
    ::kill(pid_, signal);
  }
}

namespace {

// Everything the child needs, computed before clone: after it the child only
// makes system calls (the parent may have other threads holding malloc locks).
struct ChildPlan {
  PreparedRoot root;
  CapabilityPlan caps;
  BpfProgram filter;
  std::vector<Rlimit> rlimits;
  std::vector<PassFd> fds;
  std::vector<int> staged_fds;  // scratch for the fd shuffle
  std::vector<char*> argv;
  std::vector<char*> envp;
  const SandboxSpec* spec;
  bool become_mapped_root;  // IdMapPlan::become_mapped_root
  int sync_fd;   // read end: one byte once the id maps are written
  int error_fd;  // write end, close-on-exec: a ChildFailure if setup fails
  int parent_pidfd = -1;  // become_mapped_root: the spawning process, to see it die
};

std::vector<char*> to_c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (const std::string& s : strings) result.push_back(const_cast<char*>(s.c_str()));
  result.push_back(nullptr);
  return result;
}

std::vector<Rlimit> effective_rlimits(const SandboxSpec& spec) {
  std::vector<Rlimit> limits = spec.rlimits;
  std::erase_if(limits, [](const Rlimit& r) { return r.resource == RLIMIT_CORE; });
  limits.push_back({RLIMIT_CORE, 0, 0});
  return limits;
}

int apply_rlimits(const std::vector<Rlimit>& limits, ChildFailure& failure) noexcept {
  for (const Rlimit& wanted : limits) {
    rlimit current{};
    if (getrlimit(wanted.resource, &current) < 0) return record_failure(failure, errno, "read rlimit");
    rlimit next{std::min(wanted.soft, current.rlim_max), std::min(wanted.hard, current.rlim_max)};
    next.rlim_cur = std::min(next.rlim_cur, next.rlim_max);
    if (setrlimit(wanted.resource, &next) < 0) return record_failure(failure, errno, "set rlimit");
  }
  return 0;
}

// Declared fds land on their numbers, 0-2 default to /dev/null, and every
// other fd is closed (or close-on-exec: the error pipe must outlive setup).
int arrange_fds(ChildPlan& plan, int dev_null, ChildFailure& failure) noexcept {
  int highest = 2;
  for (const PassFd& fd : plan.fds) highest = std::max(highest, fd.target);
  const int floor = highest + 1;
  plan.error_fd = fcntl(plan.error_fd, F_DUPFD_CLOEXEC, floor);
  dev_null = fcntl(dev_null, F_DUPFD_CLOEXEC, floor);
  if (plan.error_fd < 0 || dev_null < 0) return record_failure(failure, errno, "move fds");
  for (size_t i = 0; i < plan.fds.size(); ++i) {
    plan.staged_fds[i] = fcntl(plan.fds[i].source, F_DUPFD_CLOEXEC, floor);
    if (plan.staged_fds[i] < 0) return record_failure(failure, errno, "duplicate passed fd");
  }
  for (int fd = 0; fd < floor; ++fd) close(fd);
  for (size_t i = 0; i < plan.fds.size(); ++i) {
    if (dup2(plan.staged_fds[i], plan.fds[i].target) < 0) {
      return record_failure(failure, errno, "place passed fd");
    }
  }
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0 && dup2(dev_null, fd) < 0) {
      return record_failure(failure, errno, "open /dev/null as std fd");
    }
  }
  if (syscall(SYS_close_range, floor, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    return record_failure(failure, errno, "mark inherited fds close-on-exec");
  }
  return 0;
}

int setup_child(ChildPlan& plan, ChildFailure& failure) noexcept {
  const SandboxSpec& spec = *plan.spec;
  if (spec.die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
    return record_failure(failure, errno, "set parent-death signal");
  }
  char go = 0;
  if (read(plan.sync_fd, &go, 1) != 1) _exit(1);  // the parent failed or died
  close(plan.sync_fd);
  if (plan.become_mapped_root) {
    // Still host uid 0 until now (unmapped here): drop host root's groups and ids.
    if (setgroups(0, nullptr) < 0) return record_failure(failure, errno, "drop supplementary groups");
    if (setresgid(0, 0, 0) < 0) return record_failure(failure, errno, "switch to the mapped root group");
    if (setresuid(0, 0, 0) < 0) return record_failure(failure, errno, "switch to the mapped root user");
    // The new credentials cleared the parent-death signal: set it again, then
    // leave if the parent died before it was set.
    if (spec.die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
      return record_failure(failure, errno, "set parent-death signal");
    }
    pollfd parent{plan.parent_pidfd, POLLIN, 0};
    if (spec.die_with_parent && poll(&parent, 1, 0) != 0) _exit(1);
  }
  // Its own session: no controlling terminal of the caller (TIOCSTI, job signals).
  if (setsid() < 0) return record_failure(failure, errno, "start a new session");
  const int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (dev_null < 0) return record_failure(failure, errno, "open", "/dev/null");
  if (int rc = build_root(plan.root, failure); rc < 0) return rc;
  if (sethostname(spec.hostname.data(), spec.hostname.size()) < 0) {
    return record_failure(failure, errno, "set hostname", spec.hostname.c_str());
  }
  if (chdir(spec.cwd.c_str()) < 0) return record_failure(failure, errno, "change directory to", spec.cwd.c_str());
  if (int rc = apply_rlimits(plan.rlimits, failure); rc < 0) return rc;
  if (int rc = arrange_fds(plan, dev_null, failure); rc < 0) return rc;
  const char* step = "";
  if (int rc = plan.caps.apply(&step); rc < 0) return record_failure(failure, -rc, step);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return record_failure(failure, errno, "set no_new_privs");
  if (int rc = load_bpf(plan.filter); rc < 0) return record_failure(failure, -rc, "load seccomp filter");
  execve(spec.executable.c_str(), plan.argv.data(), plan.envp.data());
  return record_failure(failure, errno, "execute", spec.executable.c_str());
}

[[noreturn]] void child_main(ChildPlan& plan) noexcept {
  ChildFailure failure;
  setup_child(plan, failure);
  [[maybe_unused]] ssize_t ignored = write(plan.error_fd, &failure, sizeof(failure));
  _exit(127);
}

// What the new stage process runs first: it drops the parent's ends of the
// pipes (closing the sync write end makes a dead parent visible as EOF).
struct ChildStart {
  ChildPlan* plan;
  int sync_write;
  int error_read;
};

void start_child(void* arg) noexcept {
  const ChildStart& start = *static_cast<ChildStart*>(arg);
  close(start.sync_write);
  close(start.error_read);
  child_main(*start.plan);
}

// The stage in a user namespace of its own, child of the caller's.
SpawnedStage clone_direct(unsigned long flags, ChildStart& start, const IdMapPlan& maps) {
  int pidfd = -1;
  const long pid = syscall(SYS_clone, flags, nullptr, &pidfd, nullptr, nullptr);
  if (pid < 0) throw namespace_creation_error(errno);
  if (pid == 0) start_child(&start);
  SpawnedStage stage(static_cast<pid_t>(pid), base::UniqueFd{pidfd});
  apply_id_maps(stage.pid(), maps);  // on error the stage's destructor kills it
  return stage;
}

// newuidmap/newgidmap once per process, not per stage (nested_userns.hpp).
SpawnedStage clone_in_mapped_namespace(unsigned long flags, ChildStart& start, const IdMapPlan& maps) {
  const IdMapPlan nested = nested_identity(maps);
  const ClonedStage cloned = clone_nested({mapped_user_namespace(maps), flags, &nested, start_child, &start});
  return SpawnedStage(cloned.pid, base::UniqueFd{cloned.pidfd});
}

std::string hint_for(const ChildFailure& f) {
  const std::string step = f.step;
  if (step == "load seccomp filter") return "the kernel needs CONFIG_SECCOMP_FILTER=y";
  if (step.starts_with("mount proc")) {
    return "procfs needs the new pid namespace and a fully visible /proc on the host "
           "(a container runtime that masks /proc prevents it)";
  }
  if (step == "find bind source") return "the path to bind into the sandbox does not exist on the host";
  if (step == "execute") return "the executable must be inside a mount of the sandbox";
  if (step.starts_with("pivot_root") || step.starts_with("mount")) {
    return "mounting needs a new user and mount namespace; check that user namespaces are enabled";
  }
  return {};
}

// Only pipes, sockets, character devices (ptys, /dev/null) and regular files
// reach a stage: a directory fd climbs out of any root with "..".
void require_passable(const std::vector<PassFd>& fds) {
  for (const PassFd& fd : fds) {
    struct stat st {};
    base::check_syscall(fstat(fd.source, &st), "inspect fd to pass", std::to_string(fd.source));
    const mode_t type = st.st_mode & S_IFMT;
    const std::string where = "fd " + std::to_string(fd.source) + " (stage fd " + std::to_string(fd.target) + ")";
    base::require(type != S_IFDIR, "Refusing to pass " + where + " to the stage: directories are never passed to a stage");
    base::require(type == S_IFREG || type == S_IFIFO || type == S_IFSOCK || type == S_IFCHR,
                 "Refusing to pass " + where +
                     " to the stage: only regular files, pipes, sockets and character devices are passed");
  }
}

}  // namespace

SpawnedStage spawn(const SandboxSpec& spec) {
  base::ErrorContext ctx{"starting sandboxed", spec.executable};
  base::require(!spec.argv.empty(), "Failed to spawn stage: argv is empty");
  require_passable(spec.fds);
  const IdMapPlan maps = plan_id_maps(spec.user_mapping, spec.subuid_path, spec.subgid_path);
  const BindSources sources = maps.become_mapped_root ? BindSources::kDetachedByParent : BindSources::kByPath;
  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = spec.env;
  ChildPlan plan{prepare_root(spec.mounts, sources), CapabilityPlan(spec.capabilities),
                 compiled_bpf(spec.seccomp), effective_rlimits(spec), spec.fds,
                 std::vector<int>(spec.fds.size(), -1), to_c_strings(argv), to_c_strings(env),
                 &spec, maps.become_mapped_root, -1, -1};
  int sync[2];
  int errors[2];
  base::check_syscall(pipe2(sync, O_CLOEXEC), "create", "sync pipe");
  base::UniqueFd sync_read{sync[0]}, sync_write{sync[1]};
  base::check_syscall(pipe2(errors, O_CLOEXEC), "create", "error pipe");
  base::UniqueFd error_read{errors[0]}, error_write{errors[1]};
  plan.sync_fd = sync_read.get();
  plan.error_fd = error_write.get();
  base::UniqueFd self;
  if (maps.become_mapped_root) {
    self.reset(base::check_syscall(static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0)), "open", "own pidfd"));
    plan.parent_pidfd = self.get();
  }

  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                        CLONE_NEWCGROUP | CLONE_PIDFD | SIGCHLD;
  if (!spec.network) flags |= CLONE_NEWNET;
  ChildStart start{&plan, sync_write.get(), error_read.get()};
  SpawnedStage stage = maps.use_helpers ? clone_in_mapped_namespace(flags, start, maps)
                                        : clone_direct(flags, start, maps);
  sync_read.reset();
  error_write.reset();
  base::check_syscall(write(sync_write.get(), "1", 1), "release", "stage child");
  sync_write.reset();

  ChildFailure failure;
  const ssize_t n = read(error_read.get(), &failure, sizeof(failure));
  if (n <= 0) return stage;  // close-on-exec closed the pipe: execve succeeded
  stage.wait();
  failure.step[sizeof(failure.step) - 1] = '\0';
  failure.object[sizeof(failure.object) - 1] = '\0';
  std::string message = std::string("Failed to ") + failure.step;
  if (failure.object[0] != '\0') message += std::string(" '") + failure.object + "'";
  message += std::string(" in the sandbox: ") + std::strerror(failure.error);
  base::Error error(base::ErrorKind::kFailed, std::move(message));
  error.with_errno(failure.error);
  if (std::string hint = hint_for(failure); !hint.empty()) error.with_hint(std::move(hint));
  throw error;
}

}  // namespace sandbox
