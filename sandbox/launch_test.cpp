// Spawning the probe in a sandbox: namespaces, no_new_privs, seccomp,
// reported setup failures and the SIGSYS reporter. Runs as root and as an
// unprivileged user with a subordinate id range.
#include "sandbox/launch.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "base/error.hpp"
#include "sandbox/baseline_policy.hpp"
#include "sandbox/syscall_sets.hpp"
#include "sandbox/userns.hpp"
#include "sandbox/testing/probe_run.hpp"

namespace sandbox {
namespace {

using testing::probe_spec;
using testing::run;

std::string namespace_of(const std::string& pid, const std::string& ns) {
  char target[64] = {};
  const std::string path = "/proc/" + pid + "/ns/" + ns;
  base::check_syscall(readlink(path.c_str(), target, sizeof(target) - 1), "read link", path);
  return target;
}

std::map<std::string, std::string> status_fields(pid_t pid) {
  std::map<std::string, std::string> fields;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t value = line.find_first_not_of(" \t", colon + 1);
    fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return fields;
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

// A probe blocked in "pause" so the test can inspect it from outside.
struct PausedProbe {
  explicit PausedProbe(bool network) {
    int in[2], out[2];
    base::check_syscall(pipe2(in, O_CLOEXEC), "create", "stdin pipe");
    base::check_syscall(pipe2(out, O_CLOEXEC), "create", "stdout pipe");
    stdin_write.reset(in[1]);
    stdout_read.reset(out[0]);
    base::UniqueFd in_read{in[0]}, out_write{out[1]};
    SandboxSpec spec = probe_spec(baseline_policy(), {"pause"});
    spec.network = network;
    spec.fds = {{in_read.get(), 0}, {out_write.get(), 1}};
    stage.emplace(spawn(spec));
  }
  base::UniqueFd stdin_write, stdout_read;
  std::optional<SpawnedStage> stage;
};

TEST(Spawn, ChildRunsUnderSeccompWithNoNewPrivsInNewNamespaces) {
  for (bool network : {false, true}) {
    SCOPED_TRACE(network ? "with network" : "without network");
    PausedProbe probe(network);
    ASSERT_EQ(read_line(probe.stdout_read.get()), "ready");
    const pid_t pid = probe.stage->pid();
    auto fields = status_fields(pid);
    EXPECT_EQ(fields["Seccomp"], "2");
    EXPECT_EQ(fields["NoNewPrivs"], "1");
    EXPECT_EQ(fields["CapEff"], "0000000000000000");
    for (const char* ns : {"user", "mnt", "pid", "ipc", "uts", "cgroup"}) {
      EXPECT_NE(namespace_of(std::to_string(pid), ns), namespace_of("self", ns)) << ns;
    }
    if (network) {
      EXPECT_EQ(namespace_of(std::to_string(pid), "net"), namespace_of("self", "net"));
    } else {
      EXPECT_NE(namespace_of(std::to_string(pid), "net"), namespace_of("self", "net"));
    }
    probe.stdin_write.reset();
    const int status = probe.stage->wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
}

// The network namespace is a second layer behind seccomp: even with socket
// creation allowed, 127.0.0.1 of the host is not reachable.
TEST(Spawn, NewNetworkNamespaceHidesTheHostsLoopback) {
  testing::LocalTcpServer server;
  SeccompPolicy seccomp = baseline_policy();
  syscalls::allow_internet_socket_creation(seccomp);
  seccomp.allow(syscalls::local_sockets());
  const std::vector<std::string> args{"connect-tcp", "127.0.0.1", std::to_string(server.port())};
  SandboxSpec spec = probe_spec(seccomp, args);
  ASSERT_FALSE(spec.network);
  const testing::ProbeRun isolated = run(spec);
  EXPECT_EQ(isolated.status, 1 << 8) << isolated.describe();
  EXPECT_NE(isolated.out.find("connect-tcp: errno"), std::string::npos) << isolated.describe();
  spec.network = true;
  const testing::ProbeRun shared = run(spec);
  EXPECT_TRUE(shared.succeeded()) << shared.describe();
}

TEST(Spawn, ChildIsRootAndPidOneInsideItsNamespaces) {
  const testing::ProbeRun r = run(probe_spec(baseline_policy(), {"status"}));
  ASSERT_TRUE(r.succeeded()) << r.describe();
  EXPECT_NE(r.out.find("Uid:\t0\t0\t0\t0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
}

// The inode of the user namespace that owns `pid`'s user namespace.
ino_t parent_user_namespace(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/ns/user";
  base::UniqueFd ns{base::check_syscall(open(path.c_str(), O_RDONLY | O_CLOEXEC), "open", path)};
  base::UniqueFd parent{base::check_syscall(ioctl(ns.get(), NS_GET_PARENT), "get parent of", path)};
  struct stat st {};
  base::check_syscall(fstat(parent.get(), &st), "inspect parent of", path);
  return st.st_ino;
}

ino_t own_user_namespace() {
  struct stat st {};
  base::check_syscall(stat("/proc/self/ns/user", &st), "inspect", "/proc/self/ns/user");
  return st.st_ino;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `text` (a uid_map or gid_map as the host reads it) holds exactly `lines`.
void expect_map(const std::string& text, const std::vector<IdMapLine>& lines) {
  std::istringstream map(text);
  for (const IdMapLine& line : lines) {
    uint32_t inside = 0, outside = 0, count = 0;
    ASSERT_TRUE(map >> inside >> outside >> count) << text;
    EXPECT_EQ(inside, line.inside);
    EXPECT_EQ(outside, line.outside);
    EXPECT_EQ(count, line.count);
  }
  std::string rest;
  EXPECT_FALSE(map >> rest) << text;
}

// An unprivileged caller's subordinate range is mapped once per process
// (newuidmap/newgidmap); each stage's namespace is nested in that mapped one
// and seen from the host with the caller's maps, as if mapped directly.
TEST(Spawn, StagesOfAnUnprivilegedCallerNestInOneMappedNamespace) {
  PausedProbe first(false);
  PausedProbe second(false);
  ASSERT_EQ(read_line(first.stdout_read.get()), "ready");
  ASSERT_EQ(read_line(second.stdout_read.get()), "ready");
  const ino_t first_parent = parent_user_namespace(first.stage->pid());
  const ino_t second_parent = parent_user_namespace(second.stage->pid());
  const IdMapPlan plan = plan_id_maps(UserMapping::kSubordinateRange, "/etc/subuid", "/etc/subgid");
  if (plan.use_helpers) {
    EXPECT_EQ(first_parent, second_parent);
    EXPECT_NE(first_parent, own_user_namespace());
  } else {
    // Root writes each stage's maps itself: no mapped namespace in between.
    EXPECT_EQ(first_parent, own_user_namespace());
    EXPECT_EQ(second_parent, own_user_namespace());
  }
  for (const PausedProbe* probe : {&first, &second}) {
    const std::string proc = "/proc/" + std::to_string(probe->stage->pid());
    expect_map(read_text(proc + "/uid_map"), plan.uid);
    expect_map(read_text(proc + "/gid_map"), plan.gid);
  }
}

TEST(Spawn, SingleIdMappingRunsWithoutSubordinateRanges) {
  SandboxSpec spec = probe_spec(baseline_policy(), {"status"});
  spec.user_mapping = UserMapping::kSingleId;
  spec.subuid_path = spec.subgid_path = "/nonexistent/subuid";
  const testing::ProbeRun r = run(spec);
  ASSERT_TRUE(r.succeeded()) << r.describe();
  EXPECT_NE(r.out.find("Uid:\t0\t0\t0\t0"), std::string::npos) << r.out;
}

TEST(Spawn, CallerWithoutSubordinateRangeGetsInstructions) {
  if (geteuid() == 0) GTEST_SKIP() << "root maps ids directly; see UserNamespace tests";
  SandboxSpec spec = probe_spec(baseline_policy(), {"noop"});
  spec.subuid_path = spec.subgid_path = "/nonexistent/subuid";
  try {
    spawn(spec);
    FAIL() << "spawn succeeded without a subordinate range";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("usermod --add-subuids"), std::string::npos) << e.what();
  }
}

TEST(Spawn, ForbiddenSyscallKillsWithSigsysAndTheReportNamesIt) {
  const testing::ProbeRun r = run(probe_spec(baseline_policy(), {"ptrace-attach", "1"}));
  EXPECT_TRUE(r.killed_by_sigsys()) << r.describe();
  EXPECT_NE(r.err.find("seccomp: stage attempted forbidden syscall ptrace (101)"), std::string::npos)
      << r.describe();
}

TEST(Spawn, SetupFailureNamesTheStepAndPath) {
  SandboxSpec spec = probe_spec(baseline_policy(), {"noop"});
  spec.mounts.push_back({MountKind::kBindRo, "/nonexistent/input", "/input", {}});
  try {
    spawn(spec);
    FAIL() << "spawn succeeded with a missing bind source";
  } catch (const base::Error& e) {
    const std::string what = e.what();
    // Looked up by the child under /oldroot, or (root) opened by the parent.
    EXPECT_NE(what.find("Failed to find bind source '"), std::string::npos) << what;
    EXPECT_NE(what.find("/nonexistent/input'"), std::string::npos) << what;
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_FALSE(e.hint().empty());
  }
}

TEST(Spawn, MissingExecutableIsReportedAfterSetup) {
  SandboxSpec spec = probe_spec(baseline_policy(), {"noop"});
  spec.executable = "/no/such/stage";
  try {
    spawn(spec);
    FAIL() << "spawn succeeded with a missing executable";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Failed to execute '/no/such/stage'"), std::string::npos) << e.what();
  }
}

TEST(Spawn, OnlyDeclaredFdsReachTheStage) {
  // An fd open in the parent without close-on-exec must not leak in.
  base::UniqueFd leaked{open("/dev/null", O_RDONLY)};
  ASSERT_TRUE(leaked.valid());
  const std::string path = "/proc/self/fd/" + std::to_string(leaked.get());
  const testing::ProbeRun r = run(probe_spec(baseline_policy(), {"read-file", path}));
  EXPECT_FALSE(r.succeeded()) << r.describe();
  EXPECT_NE(r.out.find("errno 2 "), std::string::npos) << r.describe();
}

TEST(Spawn, DirectoryFdsAreNeverPassed) {
  for (int flags : {O_RDONLY | O_DIRECTORY, O_PATH | O_DIRECTORY}) {
    base::UniqueFd dir{open("/usr", flags | O_CLOEXEC)};
    ASSERT_TRUE(dir.valid());
    SandboxSpec spec = probe_spec(baseline_policy(), {"noop"});
    spec.fds = {{dir.get(), 5}};
    try {
      spawn(spec);
      FAIL() << "a directory fd was passed to the stage";
    } catch (const base::Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(what.find("fd " + std::to_string(dir.get()) + " (stage fd 5)"), std::string::npos) << what;
      EXPECT_NE(what.find("directories are never passed to a stage"), std::string::npos) << what;
    }
  }
}

TEST(Spawn, StageLeadsItsOwnSessionWithoutControllingTerminal) {
  const testing::ProbeRun r = run(probe_spec(baseline_policy(), {"session"}));
  ASSERT_TRUE(r.succeeded()) << r.describe();
  EXPECT_NE(r.out.find("pid 1 sid 1 pgid 1\n"), std::string::npos) << r.out;
  // No /dev/tty in a stage's /dev at all.
  EXPECT_NE(r.out.find("tty: errno " + std::to_string(ENOENT) + " "), std::string::npos) << r.out;
}

TEST(Spawn, DevWithTtyBindsTheNodeButTheStageStillHasNoControllingTerminal) {
  SandboxSpec spec = probe_spec(baseline_policy(), {"session"});
  for (MountOp& op : spec.mounts) {
    if (op.kind == MountKind::kDev) op.options = kDevWithTty;
  }
  const testing::ProbeRun r = run(spec);
  ASSERT_TRUE(r.succeeded()) << r.describe();
  EXPECT_NE(r.out.find("tty: errno " + std::to_string(ENXIO) + " "), std::string::npos) << r.out;
}

TEST(Spawn, ProcSysAndSysrqTriggerAreReadOnly) {
  for (const char* path : {"/proc/sys", "/proc/sys/kernel", "/proc/sysrq-trigger", "/proc/irq", "/proc/fs"}) {
    SCOPED_TRACE(path);
    const testing::ProbeRun r = run(probe_spec(baseline_policy(), {"mount-flags", path}));
    if (access(path, F_OK) != 0) continue;  // not in this kernel
    EXPECT_NE(r.out.find("ro\n"), std::string::npos) << r.describe();
  }
  const testing::ProbeRun proc = run(probe_spec(baseline_policy(), {"mount-flags", "/proc/self"}));
  EXPECT_NE(proc.out.find("rw\n"), std::string::npos) << "the rest of /proc stays as it was: " << proc.describe();
  const testing::ProbeRun core = run(probe_spec(baseline_policy(), {"write-file", "/proc/sys/kernel/core_pattern", "|/x"}));
  EXPECT_NE(core.out.find("write-file: errno "), std::string::npos) << core.describe();
}

// What runc masks reads as /dev/null (or is absent on this kernel).
TEST(Spawn, SensitiveProcFilesAreMasked) {
  for (const char* path : {"/proc/keys", "/proc/timer_list", "/proc/kcore"}) {
    SCOPED_TRACE(path);
    const bool present = access(path, F_OK) == 0;
    const testing::ProbeRun st = run(probe_spec(baseline_policy(), {"stat", path}));
    const testing::ProbeRun read = run(probe_spec(baseline_policy(), {"read-count", path}));
    if (!present) {
      EXPECT_NE(st.out.find("errno " + std::to_string(ENOENT)), std::string::npos) << st.describe();
      continue;
    }
    EXPECT_NE(st.out.find("type chr"), std::string::npos) << st.describe();
    EXPECT_NE(read.out.find("bytes 0\n"), std::string::npos) << read.describe();
  }
}

// The installer's image tree gets a second procfs (for maintainer scripts):
// confined the same way.
TEST(Spawn, SecondProcMountIsConfinedToo) {
  SandboxSpec spec = probe_spec(baseline_policy(), {"mount-flags", "/image/proc/sys"});
  spec.mounts.push_back({MountKind::kTmpfs, {}, "/image", {}});
  spec.mounts.push_back({MountKind::kProc, {}, "/image/proc", {}});
  const testing::ProbeRun sys = run(spec);
  EXPECT_NE(sys.out.find("ro\n"), std::string::npos) << sys.describe();
  spec.argv = {"probe", "stat", "/image/proc/keys"};
  const testing::ProbeRun keys = run(spec);
  EXPECT_NE(keys.out.find("type chr"), std::string::npos) << keys.describe();
}

}  // namespace
}  // namespace sandbox
