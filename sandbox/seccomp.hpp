// Seccomp policies as data, compiled with libseccomp. A policy maps each
// syscall to a decision, optionally guarded by argument comparators that go
// into the filter itself (never into C++ conditionals over filter rules).
#pragma once

#include <linux/filter.h>
#include <seccomp.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sandbox {

enum class Action {
  kAllow,
  kErrno,  // fail with errno_value; for libc fallbacks (clone3 -> ENOSYS)
  kTrap,   // SIGSYS; the stage's reporter names the syscall, then it dies
  kKill,   // kill the whole process without a report
};

struct Decision {
  Action action = Action::kTrap;
  int errno_value = 0;
  friend bool operator==(const Decision&, const Decision&) = default;
};

inline constexpr Decision kAllowed{Action::kAllow, 0};
inline constexpr Decision kTrapped{Action::kTrap, 0};
inline constexpr Decision fail_with(int e) { return Decision{Action::kErrno, e}; }

// Syscalls named for what they permit (see syscall_sets.hpp).
struct SyscallSet {
  std::string_view name;
  std::vector<int> syscalls;  // SCMP_SYS(...) numbers
};

// Argument comparisons of one rule; all must hold (libseccomp ANDs them).
using ArgConditions = std::vector<scmp_arg_cmp>;

struct ConditionalRule {
  Decision decision;
  ArgConditions conditions;
};

class SeccompPolicy {
 public:
  explicit SeccompPolicy(Decision default_decision = kTrapped) : default_(default_decision) {}

  // Every syscall of `set` is allowed unconditionally.
  SeccompPolicy& allow(const SyscallSet& set);
  // `nr` gets `decision` unconditionally.
  SeccompPolicy& set(int nr, Decision decision);
  // `nr` gets `decision` when all `conditions` hold; otherwise the next
  // matching rule or the default decision applies.
  SeccompPolicy& set_if(int nr, Decision decision, ArgConditions conditions);
  SeccompPolicy& allow_if(int nr, ArgConditions conditions) {
    return set_if(nr, kAllowed, std::move(conditions));
  }
  // Traps every syscall of `set` for good: a later allow/set on one of them
  // is a bug in the policy and throws.
  SeccompPolicy& forbid(const SyscallSet& set);

  Decision default_decision() const noexcept { return default_; }
  // The unconditional decision for `nr`; nullopt when argument rules decide.
  std::optional<Decision> decision_for(int nr) const;
  bool is_conditional(int nr) const;
  bool is_forbidden(int nr) const;

  struct Entry {
    std::optional<Decision> unconditional;
    std::vector<ConditionalRule> conditional;
    bool forbidden = false;
  };
  const std::map<int, Entry>& entries() const noexcept { return entries_; }

 private:
  Entry& writable_entry(int nr);

  Decision default_;
  std::map<int, Entry> entries_;
};

// A compiled classic-BPF program, ready to be loaded without allocating
// (what the launcher's child does after fork).
struct BpfProgram {
  std::vector<sock_filter> instructions;
};

// RAII over scmp_filter_ctx for one policy on the native architecture.
class SeccompFilter {
 public:
  explicit SeccompFilter(const SeccompPolicy& policy);
  ~SeccompFilter();
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;

  BpfProgram export_bpf() const;
  // Sets no_new_privs and loads the filter into the calling thread.
  void load() const;

 private:
  scmp_filter_ctx ctx_;
};

// The program of `policy`, compiled once per distinct policy in this process
// and then copied: a compile costs about a millisecond, and a stage kind
// starts many times with one policy.
BpfProgram compiled_bpf(const SeccompPolicy& policy);

// Loads `program` into the calling process (no_new_privs must be set).
// Async-signal-safe; returns 0 or -errno.
int load_bpf(const BpfProgram& program) noexcept;

// The kernel's name of syscall `nr` ("ptrace"), or "syscall_<nr>".
std::string syscall_name(int nr);

// For a stage that runs no programs, once it is running: a second filter
// that traps execve and execveat. The launcher's filter had to allow them for
// the exec of the stage itself; filters stack, so from here on both apply
// and the stricter decision wins.
void forbid_exec();

// First thing a stage does after exec: a SIGSYS handler that writes
// "seccomp: stage attempted forbidden syscall <name> (<nr>)\n" to `fd` and
// then dies with SIGSYS (also as pid 1 of a pid namespace).
void install_sigsys_reporter(int fd);

}  // namespace sandbox
