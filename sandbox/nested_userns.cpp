#include "sandbox/nested_userns.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace sandbox {
namespace {

int reap(pid_t pid) noexcept {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// A child that only waits in its new user namespace until the pipe closes.
base::UniqueFd make_holder(const IdMapPlan& plan) {
  int sync[2];
  base::check_syscall(pipe2(sync, O_CLOEXEC), "create", "holder sync pipe");
  base::UniqueFd sync_read{sync[0]}, sync_write{sync[1]};
  const long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) throw namespace_creation_error(errno);
  if (pid == 0) {
    close(sync[1]);
    char byte = 0;
    [[maybe_unused]] ssize_t ignored = read(sync[0], &byte, 1);
    _exit(0);
  }
  sync_read.reset();
  struct Reaper {
    pid_t pid;
    base::UniqueFd& sync_write;
    ~Reaper() {
      sync_write.reset();  // EOF: the holder exits; its namespace lives on in the fd
      reap(pid);
    }
  } reaper{static_cast<pid_t>(pid), sync_write};
  apply_id_maps(static_cast<pid_t>(pid), plan);
  const std::string path = "/proc/" + std::to_string(pid) + "/ns/user";
  return base::UniqueFd{base::check_syscall(open(path.c_str(), O_RDONLY | O_CLOEXEC), "open", path)};
}

struct Intermediate {
  const NestedClone* request;
  std::string uid_map;
  std::string gid_map;
  sigset_t stage_mask;  // the caller's signal mask, restored in the stage
  long pid = -1;
  int pidfd = -1;
  int error = 0;
  const char* step = "";
};

int fail(Intermediate& s, const char* step) noexcept {
  s.error = errno;
  s.step = step;
  return 1;
}

// "/proc/<pid>/<name>" without allocating (this runs on the caller's memory).
void proc_path(char* out, long pid, const char* name) noexcept {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + pid % 10);
    pid /= 10;
  } while (pid > 0);
  char* p = stpcpy(out, "/proc/");
  while (n > 0) *p++ = digits[--n];
  *p++ = '/';
  stpcpy(p, name);
}

int write_map(long pid, const char* name, const std::string& text) noexcept {
  char path[64];
  proc_path(path, pid, name);
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const ssize_t n = write(fd, text.data(), text.size());
  const int saved = errno;
  close(fd);
  errno = saved;
  return n == static_cast<ssize_t>(text.size()) ? 0 : -1;
}

// Runs in the short-lived process that shares the caller's memory and fds.
int enter_and_clone(void* arg) {
  Intermediate& s = *static_cast<Intermediate*>(arg);
  if (setns(s.request->userns_fd, CLONE_NEWUSER) < 0) return fail(s, "enter the mapped user namespace");
  const long pid = syscall(SYS_clone, s.request->flags | CLONE_PARENT, nullptr, &s.pidfd, nullptr, nullptr);
  if (pid == 0) {
    pthread_sigmask(SIG_SETMASK, &s.stage_mask, nullptr);
    s.request->child(s.request->child_arg);
    _exit(127);
  }
  if (pid < 0) return fail(s, "create the stage's namespaces");
  s.pid = pid;
  if (write_map(pid, "uid_map", s.uid_map) < 0) return fail(s, "write the stage's uid_map");
  if (write_map(pid, "gid_map", s.gid_map) < 0) return fail(s, "write the stage's gid_map");
  return 0;
}

// clone()'s child runs on this much of the caller's own stack while the
// caller waits (CLONE_VFORK); the stage itself starts on a copy of it. On the
// thread's stack, not the heap, so that sanitizers see no stack switch.
constexpr size_t kIntermediateStack = 64 * 1024;

}  // namespace

int mapped_user_namespace(const IdMapPlan& plan) {
  static std::mutex mutex;
  // Never destroyed: stages may be spawned until the process exits.
  static auto* holders = new std::map<std::string, base::UniqueFd>();
  const std::string key = id_map_text(plan.uid) + "|" + id_map_text(plan.gid);
  std::lock_guard lock(mutex);
  auto it = holders->find(key);
  if (it == holders->end()) it = holders->emplace(key, make_holder(plan)).first;
  return it->second.get();
}

IdMapPlan nested_identity(const IdMapPlan& plan) {
  IdMapPlan nested;
  for (const IdMapLine& line : plan.uid) nested.uid.push_back({line.inside, line.inside, line.count});
  for (const IdMapLine& line : plan.gid) nested.gid.push_back({line.inside, line.inside, line.count});
  return nested;
}

ClonedStage clone_nested(const NestedClone& request) {
  Intermediate s{&request, id_map_text(request.maps->uid), id_map_text(request.maps->gid), {}};
  alignas(64) char stack[kIntermediateStack];
  // No signal handler of the caller may run on the shared memory of the
  // intermediate; the stage gets the caller's mask back.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &s.stage_mask);
  const int intermediate = clone(enter_and_clone, stack + kIntermediateStack,
                                 CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &s);
  const int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &s.stage_mask, nullptr);
  if (intermediate < 0) {
    throw base::Error(base::ErrorKind::kFailed,
                     std::string("Failed to start the stage's launcher process: ") + std::strerror(clone_errno))
        .with_errno(clone_errno);
  }
  const int status = reap(intermediate);
  const bool finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (finished && s.error == 0) return {static_cast<pid_t>(s.pid), s.pidfd};
  if (s.error == 0) {
    s.error = ECHILD;
    s.step = "finish the stage's launcher process (it was killed)";
  }
  if (s.pid > 0) {
    kill(static_cast<pid_t>(s.pid), SIGKILL);
    reap(static_cast<pid_t>(s.pid));
    close(s.pidfd);
  }
  if (std::strcmp(s.step, "create the stage's namespaces") == 0) throw namespace_creation_error(s.error);
  throw base::Error(base::ErrorKind::kFailed, std::string("Failed to ") + s.step + ": " + std::strerror(s.error))
      .with_errno(s.error);
}

}  // namespace sandbox
