#include "sandbox/seccomp.hpp"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace sandbox {

SeccompPolicy::Entry& SeccompPolicy::writable_entry(int nr) {
  Entry& entry = entries_[nr];
  base::check(!entry.forbidden,
             "Failed to extend seccomp policy: syscall '" + syscall_name(nr) +
                 "' is forbidden for every stage");
  return entry;
}

SeccompPolicy& SeccompPolicy::allow(const SyscallSet& set) {
  base::ErrorContext ctx{"allowing syscall set", set.name};
  for (int nr : set.syscalls) writable_entry(nr).unconditional = kAllowed;
  return *this;
}

SeccompPolicy& SeccompPolicy::set(int nr, Decision decision) {
  writable_entry(nr).unconditional = decision;
  return *this;
}

SeccompPolicy& SeccompPolicy::set_if(int nr, Decision decision, ArgConditions conditions) {
  base::check(!conditions.empty(), "set_if() needs at least one argument condition");
  writable_entry(nr).conditional.push_back({decision, std::move(conditions)});
  return *this;
}

SeccompPolicy& SeccompPolicy::forbid(const SyscallSet& set) {
  for (int nr : set.syscalls) {
    entries_[nr] = Entry{kTrapped, {}, true};
  }
  return *this;
}

std::optional<Decision> SeccompPolicy::decision_for(int nr) const {
  auto it = entries_.find(nr);
  if (it == entries_.end()) return default_;
  if (it->second.unconditional) return it->second.unconditional;
  return std::nullopt;
}

bool SeccompPolicy::is_conditional(int nr) const { return !decision_for(nr).has_value(); }

bool SeccompPolicy::is_forbidden(int nr) const {
  auto it = entries_.find(nr);
  return it != entries_.end() && it->second.forbidden;
}

namespace {

uint32_t to_scmp_action(Decision d) {
  switch (d.action) {
    case Action::kAllow: return SCMP_ACT_ALLOW;
    case Action::kErrno: return SCMP_ACT_ERRNO(static_cast<uint16_t>(d.errno_value));
    case Action::kTrap: return SCMP_ACT_TRAP;
    case Action::kKill: return SCMP_ACT_KILL_PROCESS;
  }
  return SCMP_ACT_KILL_PROCESS;
}

void check_scmp(int rc, std::string_view op, std::string_view object) {
  if (rc < 0) {
    errno = -rc;
    base::check_syscall(-1, op, object);
  }
}

}  // namespace

SeccompFilter::SeccompFilter(const SeccompPolicy& policy)
    : ctx_(seccomp_init(to_scmp_action(policy.default_decision()))) {
  base::check(ctx_ != nullptr, "Failed to create seccomp filter context");
  const Decision fallback = policy.default_decision();
  for (const auto& [nr, entry] : policy.entries()) {
    // libseccomp rejects rules whose action equals the default: they are implied.
    if (entry.unconditional) {
      if (*entry.unconditional == fallback) continue;
      check_scmp(seccomp_rule_add_array(ctx_, to_scmp_action(*entry.unconditional), nr, 0, nullptr),
                 "add seccomp rule for", syscall_name(nr));
      continue;
    }
    for (const ConditionalRule& rule : entry.conditional) {
      if (rule.decision == fallback) continue;
      check_scmp(seccomp_rule_add_array(ctx_, to_scmp_action(rule.decision), nr,
                                        static_cast<unsigned>(rule.conditions.size()),
                                        rule.conditions.data()),
                 "add conditional seccomp rule for", syscall_name(nr));
    }
  }
}

SeccompFilter::~SeccompFilter() { seccomp_release(ctx_); }

BpfProgram SeccompFilter::export_bpf() const {
  base::UniqueFd fd{base::check_syscall(memfd_create("seccomp-bpf", MFD_CLOEXEC), "create memfd for", "seccomp-bpf")};
  check_scmp(seccomp_export_bpf(ctx_, fd.get()), "export seccomp filter to", "memfd");
  const off_t size = base::check_syscall(lseek(fd.get(), 0, SEEK_END), "seek", "seccomp-bpf memfd");
  base::check(size % sizeof(sock_filter) == 0, "Failed to export seccomp filter: odd BPF size");
  BpfProgram program;
  program.instructions.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  base::check_syscall(pread(fd.get(), program.instructions.data(), static_cast<size_t>(size), 0),
                     "read", "seccomp-bpf memfd");
  return program;
}

namespace {

void append_decision(std::string& key, const Decision& d) {
  key += std::to_string(static_cast<int>(d.action)) + "/" + std::to_string(d.errno_value) + ";";
}

// Everything the compiled program depends on, as text.
std::string policy_key(const SeccompPolicy& policy) {
  std::string key;
  append_decision(key, policy.default_decision());
  for (const auto& [nr, entry] : policy.entries()) {
    key += "\n" + std::to_string(nr) + (entry.forbidden ? "F" : "") + ":";
    if (entry.unconditional) append_decision(key, *entry.unconditional);
    for (const ConditionalRule& rule : entry.conditional) {
      key += "(";
      append_decision(key, rule.decision);
      for (const scmp_arg_cmp& c : rule.conditions) {
        key += std::to_string(c.arg) + "," + std::to_string(static_cast<int>(c.op)) + "," +
               std::to_string(c.datum_a) + "," + std::to_string(c.datum_b) + ";";
      }
      key += ")";
    }
  }
  return key;
}

}  // namespace

BpfProgram compiled_bpf(const SeccompPolicy& policy) {
  static std::mutex mutex;
  static std::map<std::string, BpfProgram> programs;
  std::string key = policy_key(policy);
  {
    std::lock_guard lock(mutex);
    if (auto it = programs.find(key); it != programs.end()) return it->second;
  }
  BpfProgram program = SeccompFilter(policy).export_bpf();
  std::lock_guard lock(mutex);
  return programs.try_emplace(std::move(key), std::move(program)).first->second;
}

void SeccompFilter::load() const {
  base::check_syscall(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set", "no_new_privs");
  const int rc = seccomp_load(ctx_);
  if (rc < 0) {
    errno = -rc;
    base::Error error(base::ErrorKind::kFailed,
                     std::string("Failed to load seccomp filter: ") + std::strerror(-rc));
    throw std::move(error.with_errno(-rc)).with_hint(
        "the kernel needs CONFIG_SECCOMP_FILTER=y");
  }
}

void forbid_exec() {
  // libseccomp probes the kernel with seccomp(2) calls to learn its API
  // level, which the running stage's filter traps; compiling to BPF needs
  // none of what the probes find out.
  seccomp_api_set(1);
  SeccompPolicy policy(kAllowed);
  policy.set(SCMP_SYS(execve), kTrapped);
  policy.set(SCMP_SYS(execveat), kTrapped);
  // Loaded with prctl(PR_SET_SECCOMP), the one way in the baseline policy
  // allows (no_new_privs is already set by the launcher).
  const BpfProgram program = SeccompFilter(policy).export_bpf();
  base::check_syscall(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set", "no_new_privs");
  const int rc = load_bpf(program);
  if (rc < 0) {
    throw base::Error(base::ErrorKind::kFailed, std::string("Failed to load the no-exec seccomp filter: ") +
                                                  std::strerror(-rc))
        .with_errno(-rc);
  }
}

int load_bpf(const BpfProgram& program) noexcept {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.instructions.size());
  prog.filter = const_cast<sock_filter*>(program.instructions.data());
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) return -errno;
  return 0;
}

std::string syscall_name(int nr) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  if (name == nullptr) return "syscall_" + std::to_string(nr);
  std::string result(name);
  std::free(name);
  return result;
}

namespace {

// Filled before the handler is installed: the handler must not allocate.
constexpr int kMaxNamedSyscall = 512;
std::array<std::array<char, 32>, kMaxNamedSyscall> g_syscall_names{};
int g_report_fd = -1;

size_t append(char* buf, size_t pos, size_t cap, const char* text) {
  while (*text != '\0' && pos < cap) buf[pos++] = *text++;
  return pos;
}

size_t append_number(char* buf, size_t pos, size_t cap, long value) {
  char digits[24];
  size_t n = 0;
  unsigned long v = value < 0 ? static_cast<unsigned long>(-value) : static_cast<unsigned long>(value);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < sizeof(digits));
  if (value < 0 && pos < cap) buf[pos++] = '-';
  while (n > 0 && pos < cap) buf[pos++] = digits[--n];
  return pos;
}

void report_sigsys(int, siginfo_t* info, void*) {
  const int saved_errno = errno;
  char line[160];
  size_t pos = append(line, 0, sizeof(line), "seccomp: stage attempted forbidden syscall ");
  const int nr = info->si_syscall;
  const bool named = nr >= 0 && nr < kMaxNamedSyscall && g_syscall_names[static_cast<size_t>(nr)][0] != '\0';
  if (named) {
    pos = append(line, pos, sizeof(line), g_syscall_names[static_cast<size_t>(nr)].data());
  } else {
    pos = append(line, pos, sizeof(line), "syscall_");
    pos = append_number(line, pos, sizeof(line), nr);
  }
  pos = append(line, pos, sizeof(line), " (");
  pos = append_number(line, pos, sizeof(line), nr);
  pos = append(line, pos, sizeof(line), ")\n");
  [[maybe_unused]] ssize_t ignored = write(g_report_fd, line, pos);
  // A self-sent signal is ignored by pid 1 of a pid namespace, but a trap
  // forced by the filter is not: restore the default action and trap again
  // on a syscall every stage policy forbids (reboot with an invalid magic).
  signal(SIGSYS, SIG_DFL);
  syscall(SYS_reboot, 0, 0, 0, nullptr);
  raise(SIGSYS);
  errno = saved_errno;
  _exit(128 + SIGSYS);
}

}  // namespace

void install_sigsys_reporter(int fd) {
  for (int nr = 0; nr < kMaxNamedSyscall; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name == nullptr) continue;
    std::strncpy(g_syscall_names[static_cast<size_t>(nr)].data(), name,
                 g_syscall_names[0].size() - 1);
    std::free(name);
  }
  g_report_fd = fd;
  struct sigaction action {};
  action.sa_sigaction = report_sigsys;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  base::check_syscall(sigaction(SIGSYS, &action, nullptr), "install SIGSYS handler for", "seccomp reports");
}

}  // namespace sandbox
