// Cost of starting one sandboxed no-op stage (the probe under the resolver's
// policy: namespaces, id maps, mounts, pivot_root, caps, seccomp) against a
// plain fork+exec of the same binary.
//
//   sandbox_spawn_bench [RUNS]      (default 200)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "ipc/error.hpp"
#include "sandbox/launch.hpp"
#include "stages/resolver/policy.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Summary {
  double mean_ms;
  double p50_ms;
  double p95_ms;
  double cpu_ms;  // user+system of this process and its reaped children, per run
};

// CPU time is reported beside wall time because it does not grow with the
// load of other processes on the machine.
double cpu_ms() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage usage{};
    getrusage(who, &usage);
    for (const timeval& t : {usage.ru_utime, usage.ru_stime}) {
      total += static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
    }
  }
  return total;
}

Summary measure(int runs, const std::function<void()>& once) {
  std::vector<double> ms;
  once();  // warm the page cache and the dynamic loader
  const double cpu_start = cpu_ms();
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    once();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))]; };
  return {mean, at(0.50), at(0.95), (cpu_ms() - cpu_start) / static_cast<double>(runs)};
}

void require_success(int status, const char* what) {
  ipc::check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             std::string("Failed to run the probe (") + what + "): status " + std::to_string(status));
}

void fork_exec_probe() {
  const pid_t pid = ipc::check_syscall(fork(), "fork", "probe");
  if (pid == 0) {
    // Quiet, like the sandboxed run whose stdout is /dev/null.
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd < 0 || dup2(null_fd, STDOUT_FILENO) < 0) _exit(126);
    char* argv[] = {const_cast<char*>("probe"), const_cast<char*>("noop"), nullptr};
    char* envp[] = {nullptr};
    execve(OIC_PROBE_PATH, argv, envp);
    _exit(127);
  }
  int status = 0;
  ipc::check_syscall(waitpid(pid, &status, 0), "wait for", "probe");
  require_success(status, "fork+exec");
}

void print(const char* name, const Summary& s) {
  std::printf("%-16s mean %7.3f ms  p50 %7.3f ms  p95 %7.3f ms  cpu %6.3f ms\n", name, s.mean_ms,
              s.p50_ms, s.p95_ms, s.cpu_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  try {
    sandbox::SandboxSpec spec =
        sandbox::make_spec(stage::resolver::resolver_policy(), "/probe", {"probe", "noop"});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, OIC_PROBE_PATH, "/probe", {}});
    const Summary sandboxed = measure(runs, [&] { require_success(sandbox::spawn(spec).wait(), "sandbox"); });
    const Summary plain = measure(runs, fork_exec_probe);
    std::printf("uid %d, %d runs\n", static_cast<int>(geteuid()), runs);
    print("sandboxed spawn", sandboxed);
    print("fork+exec", plain);
    std::printf("ratio (mean) %.1fx, (cpu) %.1fx; target: sandboxed mean under 10 ms: %s\n",
                sandboxed.mean_ms / plain.mean_ms, sandboxed.cpu_ms / plain.cpu_ms, sandboxed.mean_ms < 10.0 ? "met" : "MISSED");
  } catch (const ipc::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
