// sandbox/probe: attempts one action from inside a sandbox and prints what
// happened, for the sandbox tests and the spawn benchmark. Not installed.
//
//   probe noop | status | pause | init-module | unshare-user
//   probe connect-tcp HOST PORT | read-file PATH | ptrace-attach PID
//   probe mount-bind SRC DST | capset CAPNAME
//   probe session | stat PATH | mount-flags PATH | read-count PATH | write-file PATH TEXT | create-file PATH
//
// Prints "<action>: ok" (exit 0) or "<action>: errno <n> <text>" (exit 1).
// A trapped syscall prints the seccomp reporter's line and dies with SIGSYS.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sandbox/caps.hpp"
#include "sandbox/seccomp.hpp"

namespace {

using Args = std::vector<std::string>;

int report(const std::string& action, int rc) {
  if (rc >= 0) {
    std::printf("%s: ok\n", action.c_str());
    return 0;
  }
  const int e = errno;
  std::printf("%s: errno %d %s\n", action.c_str(), e, std::strerror(e));
  return 1;
}

int connect_tcp(const Args& a) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(a.at(1))));
  if (inet_pton(AF_INET, a.at(0).c_str(), &addr.sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  return connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
}

int read_file(const Args& a) {
  std::FILE* f = std::fopen(a.at(0).c_str(), "r");
  if (f == nullptr) return -1;
  char buf[64];
  const size_t n = std::fread(buf, 1, sizeof(buf), f);
  const int e = std::ferror(f) != 0 ? errno : 0;
  std::fclose(f);
  errno = e;
  return e != 0 ? -1 : static_cast<int>(n);
}

int capset_raise(const Args& a) {
  const int cap = sandbox::capability_from_name(a.at(0));
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return -1;
  cap_value_t value = static_cast<cap_value_t>(cap);
  cap_set_flag(caps, CAP_PERMITTED, 1, &value, CAP_SET);
  cap_set_flag(caps, CAP_EFFECTIVE, 1, &value, CAP_SET);
  const int rc = cap_set_proc(caps);
  const int e = errno;
  cap_free(caps);
  errno = e;
  return rc;
}

int status(const Args&) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    for (const char* key : {"Seccomp:", "NoNewPrivs:", "CapEff:", "CapPrm:", "CapBnd:", "CapAmb:", "Uid:"}) {
      if (line.starts_with(key)) std::printf("%s\n", line.c_str());
    }
  }
  for (const char* ns : {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"}) {
    char target[64] = {};
    const std::string path = std::string("/proc/self/ns/") + ns;
    if (readlink(path.c_str(), target, sizeof(target) - 1) < 0) return -1;
    std::printf("ns %s %s\n", ns, target);
  }
  return 0;
}

// Session and process group as seen in the stage's pid namespace, and
// whether a controlling terminal can be opened.
int session(const Args&) {
  std::printf("pid %d sid %d pgid %d\n", getpid(), getsid(0), getpgid(0));
  const int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (tty < 0) {
    std::printf("tty: errno %d %s\n", errno, std::strerror(errno));
  } else {
    std::printf("tty: open\n");
    close(tty);
  }
  return 0;
}

int stat_path(const Args& a) {
  struct stat st {};
  if (lstat(a.at(0).c_str(), &st) < 0) return -1;
  const char* type = S_ISREG(st.st_mode)   ? "reg"
                     : S_ISDIR(st.st_mode) ? "dir"
                     : S_ISCHR(st.st_mode) ? "chr"
                     : S_ISLNK(st.st_mode) ? "lnk"
                                           : "other";
  std::printf("type %s uid %u gid %u\n", type, st.st_uid, st.st_gid);
  return 0;
}

int mount_flags(const Args& a) {
  struct statvfs vfs {};
  if (statvfs(a.at(0).c_str(), &vfs) < 0) return -1;
  std::printf("%s\n", (vfs.f_flag & ST_RDONLY) != 0 ? "ro" : "rw");
  return 0;
}

// Reads the whole file and prints how many bytes it held.
int read_count(const Args& a) {
  const int fd = open(a.at(0).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  size_t total = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) total += static_cast<size_t>(n);
  const int e = errno;
  close(fd);
  if (n < 0) {
    errno = e;
    return -1;
  }
  std::printf("bytes %zu\n", total);
  return 0;
}

int write_file(const Args& a) {
  const int fd = open(a.at(0).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const ssize_t n = write(fd, a.at(1).data(), a.at(1).size());
  const int e = errno;
  close(fd);
  errno = e;
  return n < 0 ? -1 : 0;
}

int create_file(const Args& a) {
  const int fd = open(a.at(0).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

int pause_until_eof(const Args&) {
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof(buf)) > 0) {
  }
  return 0;
}

const std::map<std::string, std::pair<size_t, std::function<int(const Args&)>>>& actions() {
  static const std::map<std::string, std::pair<size_t, std::function<int(const Args&)>>> table{
      {"noop", {0, [](const Args&) { return 0; }}},
      {"status", {0, status}},
      {"pause", {0, pause_until_eof}},
      {"connect-tcp", {2, connect_tcp}},
      {"read-file", {1, read_file}},
      {"ptrace-attach",
       {1, [](const Args& a) {
          return static_cast<int>(ptrace(PTRACE_ATTACH, std::stoi(a.at(0)), nullptr, nullptr));
        }}},
      {"mount-bind",
       {2, [](const Args& a) { return mount(a.at(0).c_str(), a.at(1).c_str(), nullptr, MS_BIND, nullptr); }}},
      {"init-module",
       {0, [](const Args&) { return static_cast<int>(syscall(SYS_init_module, nullptr, 0, "")); }}},
      {"unshare-user", {0, [](const Args&) { return unshare(CLONE_NEWUSER); }}},
      {"capset", {1, capset_raise}},
      {"session", {0, session}},
      {"stat", {1, stat_path}},
      {"mount-flags", {1, mount_flags}},
      {"read-count", {1, read_count}},
      {"write-file", {2, write_file}},
      {"create-file", {1, create_file}},
  };
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  sandbox::install_sigsys_reporter(STDERR_FILENO);
  if (argc < 2 || actions().count(argv[1]) == 0) {
    std::fprintf(stderr, "usage: probe ACTION [ARGS...] (see probe.cpp)\n");
    return 2;
  }
  const auto& [arity, action] = actions().at(argv[1]);
  const Args args(argv + 2, argv + argc);
  if (args.size() != arity) {
    std::fprintf(stderr, "probe %s: expected %zu arguments\n", argv[1], arity);
    return 2;
  }
  const int rc = report(argv[1], action(args));
  std::fflush(stdout);
  return rc;
}
