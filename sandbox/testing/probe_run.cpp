#include "sandbox/testing/probe_run.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <fstream>

#include "base/error.hpp"
#include "sandbox/baseline_policy.hpp"
#include "sandbox/caps.hpp"
#include "sandbox/launch.hpp"

namespace sandbox::testing {

bool ProbeRun::succeeded() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

bool ProbeRun::killed_by_sigsys() const { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }

std::string ProbeRun::describe() const {
  std::string how = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status));
  return how + "; stdout: " + out + "; stderr: " + err;
}

SandboxSpec probe_spec(const StagePolicy& policy, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"probe"};
  argv.insert(argv.end(), args.begin(), args.end());
  SandboxSpec spec = make_spec(policy, kProbeInSandbox, std::move(argv));
  spec.mounts.push_back({MountKind::kBindRo, OIC_PROBE_PATH, kProbeInSandbox, {}});
  return spec;
}

SandboxSpec probe_spec(const SeccompPolicy& seccomp, const std::vector<std::string>& args) {
  StagePolicy policy{"probe", seccomp};
  return probe_spec(policy, args);
}

namespace {

base::UniqueFd make_pipe(base::UniqueFd& write_end) {
  int fds[2];
  base::check_syscall(pipe2(fds, O_CLOEXEC), "create", "probe pipe");
  write_end.reset(fds[1]);
  return base::UniqueFd{fds[0]};
}

// Reads both pipes to EOF without deadlocking on either.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  std::array<pollfd, 2> fds{{{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&out, &err};
  int open_count = 2;
  while (open_count > 0) {
    base::check_syscall(poll(fds.data(), fds.size(), 30000), "poll", "probe output");
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        fds[i].fd = -1;
        --open_count;
      } else {
        sinks[i]->append(buf, static_cast<size_t>(n));
      }
    }
  }
}

}  // namespace

ProbeRun run(SandboxSpec spec) {
  base::UniqueFd out_write, err_write;
  base::UniqueFd out_read = make_pipe(out_write);
  base::UniqueFd err_read = make_pipe(err_write);
  spec.fds.push_back({out_write.get(), 1});
  spec.fds.push_back({err_write.get(), 2});
  SpawnedStage stage = spawn(spec);
  out_write.reset();
  err_write.reset();
  ProbeRun result;
  drain(out_read.get(), err_read.get(), result.out, result.err);
  result.status = stage.wait();
  return result;
}

LocalTcpServer::LocalTcpServer()
    : fd_(base::check_syscall(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "create", "tcp socket")) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  base::check_syscall(bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), "bind", "127.0.0.1");
  base::check_syscall(listen(fd_.get(), 16), "listen on", "127.0.0.1");
  socklen_t len = sizeof(addr);
  base::check_syscall(getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len), "query", "tcp port");
  port_ = ntohs(addr.sin_port);
}

namespace {

// A readable file in the invoking user's home, created for the test.
class HomeFile {
 public:
  HomeFile() {
    const passwd* pw = getpwuid(geteuid());
    base::check(pw != nullptr, "Failed to find the home directory of the test user");
    path_ = std::string(pw->pw_dir) + "/.oic-sandbox-test-" + std::to_string(getpid());
    std::ofstream(path_) << "secret\n";
  }
  ~HomeFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `trapped_syscall`: the filter must kill the probe and the report must name
// this syscall (the always-forbidden ones); empty: any denial counts.
void expect_denied(const StagePolicy& policy, const std::vector<std::string>& args,
                   const std::string& trapped_syscall = {}) {
  SCOPED_TRACE(policy.name + ": probe " + args.front());
  const ProbeRun r = run(probe_spec(policy, args));
  EXPECT_FALSE(r.succeeded()) << r.describe();
  if (!trapped_syscall.empty()) {
    EXPECT_TRUE(r.killed_by_sigsys()) << r.describe();
    EXPECT_NE(r.err.find("forbidden syscall " + trapped_syscall + " ("), std::string::npos) << r.describe();
  }
  // Denied either by the kernel (an errno) or by the filter (reported SIGSYS).
  if (r.killed_by_sigsys()) {
    EXPECT_NE(r.err.find("seccomp: stage attempted forbidden syscall"), std::string::npos) << r.describe();
  } else {
    EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << r.describe();
    EXPECT_NE(r.out.find(args.front() + ": errno"), std::string::npos) << r.describe();
  }
}

// A host file the stage must not see at all: reading it fails with ENOENT.
// Any denial would not do: /etc/shadow gives EACCES to every non-root
// caller, hidden or not.
void expect_absent(const StagePolicy& policy, const std::string& path) {
  SCOPED_TRACE(policy.name + ": probe read-file " + path);
  struct stat host {};
  ASSERT_EQ(::stat(path.c_str(), &host), 0) << path << " must exist on the host for the probe to mean anything";
  const ProbeRun r = run(probe_spec(policy, {"read-file", path}));
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << r.describe();
  EXPECT_NE(r.out.find("read-file: errno " + std::to_string(ENOENT) + " "), std::string::npos) << r.describe();
}

// The lowest capability not kept (the probe tries to raise it).
std::string capability_outside(const StagePolicy& policy) {
  for (int cap = 0;; ++cap) {
    if (std::find(policy.capabilities.begin(), policy.capabilities.end(), cap) == policy.capabilities.end()) {
      return capability_name(cap);
    }
  }
}

}  // namespace

std::string own_namespace(const char* ns) {
  char target[64] = {};
  const std::string path = std::string("/proc/self/ns/") + ns;
  base::check_syscall(readlink(path.c_str(), target, sizeof(target) - 1), "read link", path);
  return target;
}

// Seccomp 2, NoNewPrivs 1, and namespaces other than the test's own (the
// inode numbers of nsfs are the same from inside and outside).
void expect_isolated(const StagePolicy& policy) {
  const ProbeRun r = run(probe_spec(policy, {"status"}));
  ASSERT_TRUE(r.succeeded()) << r.describe();
  EXPECT_NE(r.out.find("Seccomp:\t2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1\n"), std::string::npos) << r.out;
  for (const char* ns : {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"}) {
    const bool shared = r.out.find(std::string("ns ") + ns + " " + own_namespace(ns) + "\n") != std::string::npos;
    const bool expect_shared = policy.network && std::string(ns) == "net";
    EXPECT_EQ(shared, expect_shared) << ns << " namespace; " << r.out;
  }
}

void expect_confined(const StagePolicy& policy) {
  expect_isolated(policy);
  LocalTcpServer server;
  const std::vector<std::string> connect{"connect-tcp", "127.0.0.1", std::to_string(server.port())};
  if (policy.network) {
    const ProbeRun r = run(probe_spec(policy, connect));
    EXPECT_TRUE(r.succeeded()) << policy.name << " must reach 127.0.0.1: " << r.describe();
  } else {
    expect_denied(policy, connect);
  }
  HomeFile home_file;
  ASSERT_TRUE(std::ifstream(home_file.path()).good());
  expect_absent(policy, home_file.path());
  expect_absent(policy, "/etc/shadow");
  expect_denied(policy, {"ptrace-attach", std::to_string(getpid())}, "ptrace");
  expect_denied(policy, {"mount-bind", "/usr", "/tmp"}, "mount");
  expect_denied(policy, {"init-module"}, "init_module");
  expect_denied(policy, {"unshare-user"}, "unshare");
  expect_denied(policy, {"capset", capability_outside(policy)});
}

void load_filter(const StagePolicy& policy) { SeccompFilter(policy.seccomp).load(); }

void expect_no_exec_once_running(const StagePolicy& policy, void (*confine_running_stage)(int report_fd)) {
  EXPECT_EXIT(
      {
        load_filter(policy);
        confine_running_stage(STDERR_FILENO);
        ::execl("/bin/true", "/bin/true", static_cast<char*>(nullptr));
        _exit(2);
      },
      ::testing::KilledBySignal(SIGSYS), "stage attempted forbidden syscall execve");
}

void expect_decisions(const StagePolicy& policy, const std::vector<DecisionCase>& cases) {
  for (const DecisionCase& c : cases) {
    SCOPED_TRACE(policy.name + ": " + syscall_name(c.nr) + " (" + c.why + ")");
    EXPECT_EQ(policy.seccomp.decision_for(c.nr), c.decision);
  }
}

}  // namespace sandbox::testing
