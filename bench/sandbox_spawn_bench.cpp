// Cost of starting one sandboxed no-op stage (the probe under the resolver's
// policy: namespaces, id maps, mounts, pivot_root, caps, seccomp) against a
// plain fork+exec of the same binary. Two figures each:
//   start:      until the executable runs (spawn() returns once execve has
//               succeeded; for fork+exec, a close-on-exec pipe shows it);
//   round trip: start, then the probe's own loading, main and exit, reaped.
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

#include "base/error.hpp"
#include "sandbox/launch.hpp"
#include "stages/resolver/policy.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Figures {
  double mean_ms;
  double p50_ms;
  double p95_ms;
};

struct Summary {
  Figures start;
  Figures round_trip;
  double cpu_ms;  // user+system of this process and its reaped children, per run
};

// One run: the moment the executable runs, then the moment it is reaped.
struct Timed {
  Clock::time_point started;
  Clock::time_point reaped;
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

Figures figures(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))]; };
  return {mean, at(0.50), at(0.95)};
}

Summary measure(int runs, const std::function<Timed()>& once) {
  std::vector<double> start_ms, round_trip_ms;
  once();  // warm the page cache, the dynamic loader and the per-process caches
  const double cpu_start = cpu_ms();
  for (int i = 0; i < runs; ++i) {
    const auto begin = Clock::now();
    const Timed t = once();
    start_ms.push_back(std::chrono::duration<double, std::milli>(t.started - begin).count());
    round_trip_ms.push_back(std::chrono::duration<double, std::milli>(t.reaped - begin).count());
  }
  return {figures(start_ms), figures(round_trip_ms), (cpu_ms() - cpu_start) / static_cast<double>(runs)};
}

void require_success(int status, const char* what) {
  base::check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
             std::string("Failed to run the probe (") + what + "): status " + std::to_string(status));
}

Timed sandboxed_probe(const sandbox::SandboxSpec& spec) {
  sandbox::SpawnedStage stage = sandbox::spawn(spec);
  const Clock::time_point started = Clock::now();
  require_success(stage.wait(), "sandbox");
  return {started, Clock::now()};
}

Timed fork_exec_probe() {
  int exec_pipe[2];
  base::check_syscall(pipe2(exec_pipe, O_CLOEXEC), "create", "exec pipe");
  const pid_t pid = base::check_syscall(fork(), "fork", "probe");
  if (pid == 0) {
    close(exec_pipe[0]);
    // Quiet, like the sandboxed run whose stdout is /dev/null.
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd < 0 || dup2(null_fd, STDOUT_FILENO) < 0) _exit(126);
    char* argv[] = {const_cast<char*>("probe"), const_cast<char*>("noop"), nullptr};
    char* envp[] = {nullptr};
    execve(OIC_PROBE_PATH, argv, envp);
    _exit(127);
  }
  close(exec_pipe[1]);
  char byte = 0;
  const ssize_t n = read(exec_pipe[0], &byte, 1);  // EOF: execve succeeded
  const Clock::time_point started = Clock::now();
  close(exec_pipe[0]);
  int status = 0;
  base::check_syscall(waitpid(pid, &status, 0), "wait for", "probe");
  require_success(n == 0 ? status : -1, "fork+exec");
  return {started, Clock::now()};
}

void print(const char* name, const Summary& s) {
  std::printf("%-16s start mean %7.3f  p50 %7.3f  p95 %7.3f | round trip mean %7.3f  p50 %7.3f  p95 %7.3f | cpu %6.3f ms\n",
              name, s.start.mean_ms, s.start.p50_ms, s.start.p95_ms, s.round_trip.mean_ms, s.round_trip.p50_ms,
              s.round_trip.p95_ms, s.cpu_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  try {
    sandbox::SandboxSpec spec =
        sandbox::make_spec(stage::resolver::resolver_policy(), "/probe", {"probe", "noop"});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, OIC_PROBE_PATH, "/probe", {}});
    const Summary sandboxed = measure(runs, [&] { return sandboxed_probe(spec); });
    const Summary plain = measure(runs, fork_exec_probe);
    std::printf("uid %d, %d runs, times in ms\n", static_cast<int>(geteuid()), runs);
    print("sandboxed spawn", sandboxed);
    print("fork+exec", plain);
    std::printf("ratio (mean) start %.1fx, round trip %.1fx, cpu %.1fx\n", sandboxed.start.mean_ms / plain.start.mean_ms,
                sandboxed.round_trip.mean_ms / plain.round_trip.mean_ms, sandboxed.cpu_ms / plain.cpu_ms);
    std::printf("target: a stage start (spawn until the stage's executable runs) under 10 ms on average: %s\n",
                sandboxed.start.mean_ms < 10.0 ? "met" : "MISSED");
  } catch (const base::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
