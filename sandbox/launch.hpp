// Starts one stage in new namespaces under its seccomp policy, in the order
// bubblewrap uses: clone -> id maps -> mounts -> pivot_root -> hostname ->
// rlimits -> fds -> capabilities -> no_new_privs -> seccomp (last) -> execve.
#pragma once

#include <sys/types.h>

#include "sandbox/spec.hpp"
#include "base/unique_fd.hpp"

namespace sandbox {

// Owns a running stage: pid 1 of its own pid namespace, so its whole tree
// dies with it. Killed and reaped on destruction unless waited for.
class SpawnedStage {
 public:
  SpawnedStage(pid_t pid, base::UniqueFd pidfd) noexcept : pid_(pid), pidfd_(std::move(pidfd)) {}
  ~SpawnedStage();
  SpawnedStage(SpawnedStage&& other) noexcept;
  SpawnedStage& operator=(SpawnedStage&&) = delete;
  SpawnedStage(const SpawnedStage&) = delete;
  SpawnedStage& operator=(const SpawnedStage&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // A pidfd for poll()/pidfd_send_signal; invalid on kernels without CLONE_PIDFD.
  int pidfd() const noexcept { return pidfd_.get(); }
  // Blocks until the stage exits; returns the waitpid() status.
  int wait();
  void kill(int signal) noexcept;
  // Hands the process over to a caller that watches and reaps it itself
  // (the supervisor's event loop): returns the pidfd; this object then
  // neither kills nor waits.
  base::UniqueFd release_pidfd() noexcept {
    pid_ = -1;
    return std::move(pidfd_);
  }

 private:
  pid_t pid_;
  base::UniqueFd pidfd_;
  bool reaped_ = false;
};

// Throws base::Error naming the failed step (with a hint where a kernel or
// configuration cause is likely); the child has been reaped by then.
SpawnedStage spawn(const SandboxSpec& spec);

}  // namespace sandbox
