// Test support: run sandbox/probe inside a sandbox and check what a stage
// policy lets it do. Used by sandbox/ tests and every stages/*/policy_test.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sandbox/spec.hpp"
#include "sandbox/stage_policy.hpp"
#include "base/unique_fd.hpp"

namespace sandbox::testing {

struct ProbeRun {
  int status = 0;   // waitpid status
  std::string out;  // stdout
  std::string err;  // stderr (the SIGSYS reporter writes here)

  bool succeeded() const;
  bool killed_by_sigsys() const;
  std::string describe() const;
};

// Where the probe appears inside the sandbox.
inline constexpr const char* kProbeInSandbox = "/probe";

// A spec for `policy` with the probe as its executable, run with `args`.
SandboxSpec probe_spec(const StagePolicy& policy, const std::vector<std::string>& args);
// Same, with only the baseline mounts, no capabilities and `seccomp`.
SandboxSpec probe_spec(const SeccompPolicy& seccomp, const std::vector<std::string>& args);

// Spawns `spec` with stdout/stderr captured and waits for it.
ProbeRun run(SandboxSpec spec);

// A TCP listener on 127.0.0.1 with an ephemeral port (accepts via backlog).
class LocalTcpServer {
 public:
  LocalTcpServer();
  int port() const noexcept { return port_; }

 private:
  base::UniqueFd fd_;
  int port_ = 0;
};

// Every confinement check of the task, as GoogleTest expectations: no TCP to
// 127.0.0.1 (or success when the policy has network), no access to the
// caller's home or /etc/shadow, no ptrace, mount, module loading, new user
// namespace, or capability outside the keep-list.
void expect_confined(const StagePolicy& policy);

// Loads `policy`'s filter into the calling process (for death tests).
void load_filter(const StagePolicy& policy);

// For a stage that runs no programs: under `policy`'s filter and after its
// `confine_running_stage` (reporter on stderr), execve dies by SIGSYS with
// the reporter's line.
void expect_no_exec_once_running(const StagePolicy& policy, void (*confine_running_stage)(int report_fd));

struct DecisionCase {
  const char* why;
  int nr;                           // SCMP_SYS(...)
  std::optional<Decision> decision;  // nullopt: argument rules decide
};

// The policy's decision for each row, as GoogleTest expectations.
void expect_decisions(const StagePolicy& policy, const std::vector<DecisionCase>& cases);

}  // namespace sandbox::testing
