// A hostile stage, built only for tests: installed as stage-fetcher,
// stage-installer or stage-diskmaker in a folder of its own (argv[0] says
// which), it is started by the real supervisor in that stage's sandbox and
// tries, from the inside, every way out the sandbox must close. Each probe
// logs one line the test reads:
//   probe NAME: blocked (what happened)
//   probe NAME: ESCAPED (what it reached)
// then the stage fails on purpose ("hostile stage done"), so a build stops
// there. The host side (sentinel files untouched, nothing written outside)
// is checked by hostile_stage_test.cpp.
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "ipc/stage_main.hpp"
#include "sandbox/seccomp.hpp"
#include "tests/adversarial/hostile_names.hpp"

namespace {

namespace fs = std::filesystem;
namespace proto = ipc::proto;
using tests::adversarial::kAbstractListener;
using tests::adversarial::kEscapeMark;
using tests::adversarial::kSentinel;

class Prober {
 public:
  explicit Prober(ipc::StageContext& context) : context_(context) {}
  void blocked(const std::string& probe, const std::string& how) { say(probe, "blocked (" + how + ")"); }
  void escaped(const std::string& probe, const std::string& what) { say(probe, "ESCAPED (" + what + ")"); }

 private:
  void say(const std::string& probe, const std::string& outcome) {
    context_.log(ipc::LogLevel::kWarning, "probe " + probe + ": " + outcome);
  }
  ipc::StageContext& context_;
};

std::string error_text(int e) { return std::strerror(e); }

// Walks up from directory `start` with openat(".."); at each level looks
// for the host's sentinel and, when found, writes a mark beside it.
// Returns what it reached, or "" when the walk stayed inside the sandbox.
std::string climb(int start, const std::string& from) {
  int dir = ::fcntl(start, F_DUPFD_CLOEXEC, 0);
  for (int level = 0; dir >= 0 && level < 64; ++level) {
    if (::faccessat(dir, kSentinel, F_OK, 0) == 0) {
      const int mark = ::openat(dir, kEscapeMark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (mark >= 0) ::close(mark);
      ::close(dir);
      return "the host sentinel, " + std::to_string(level) + " levels above " + from;
    }
    const int up = ::openat(dir, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(dir);
    dir = up;
  }
  if (dir >= 0) ::close(dir);
  return {};
}

// Every fd this process holds: a directory among them is a handle on
// somebody's mount namespace, which is what the protocol forbids.
void probe_held_fds(Prober& p) {
  std::vector<int> fds;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') fds.push_back(std::atoi(e->d_name));
    }
    ::closedir(d);
  }
  int directories = 0;
  for (int fd : fds) {
    struct stat st {};
    if (::fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    char target[512] = {};
    if (::readlink(path.c_str(), target, sizeof target - 1) > 0 && std::string(target) == "/proc/self/fd") continue;
    ++directories;
    if (std::string reached = climb(fd, "fd " + std::to_string(fd)); !reached.empty()) {
      p.escaped("fd-climb", reached);
      return;
    }
    const int via_proc = ::open((path + "/..").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (via_proc >= 0) {
      const std::string reached = climb(via_proc, path + "/..");
      ::close(via_proc);
      if (!reached.empty()) return p.escaped("fd-climb", reached);
    }
  }
  p.blocked("fd-climb", std::to_string(fds.size()) + " fds held, " + std::to_string(directories) +
                            " directories besides /proc/self/fd, none leads to the host");
}

// The directories the request names, opened inside the sandbox and climbed.
void probe_request_dirs(Prober& p, const std::vector<std::string>& dirs) {
  for (const std::string& path : dirs) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    const std::string reached = climb(fd, path);
    ::close(fd);
    if (!reached.empty()) return p.escaped("dir-climb", reached);
  }
  p.blocked("dir-climb", std::to_string(dirs.size()) + " directories climbed to the sandbox's root");
}

// A child (as a maintainer script would be) reaches for pid 1's handles.
void probe_pid1(Prober& p) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return p.blocked("proc-1", "no pipe: " + error_text(errno));
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return p.blocked("proc-1", "fork refused: " + error_text(errno));
  }
  if (child == 0) {
    std::string opened;
    // The socket at fd 3 and stdin: a handle through /proc/1/fd/N is the
    // supervisor's object itself (a directory fd there would be its tree).
    for (const char* path : {"/proc/1/fd/3", "/proc/1/fd/0", "/proc/1/root/", "/proc/1/cwd/", "/proc/1/mem",
                             "/proc/1/environ"}) {
      const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) opened += std::string(opened.empty() ? "" : ", ") + path;
    }
    (void)!::write(pipefd[1], opened.data(), opened.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  char buffer[512] = {};
  const ssize_t n = ::read(pipefd[0], buffer, sizeof buffer - 1);
  ::close(pipefd[0]);
  ::waitpid(child, nullptr, 0);
  if (n > 0) return p.escaped("proc-1", std::string("a child opened ") + buffer);
  p.blocked("proc-1", "a child could open none of /proc/1/{fd/N,root,cwd,mem,environ}");
}

// Opening for writing is the test: writing core_pattern or sysrq-trigger
// would act on the host if the open succeeded.
void probe_write(Prober& p, const std::string& probe, const char* path) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return p.blocked(probe, std::string("open ") + path + " for writing: " + error_text(errno));
  ::close(fd);
  p.escaped(probe, std::string("opened ") + path + " for writing");
}

void probe_terminal(Prober& p) {
  std::string how;
  const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (tty >= 0) {
    ::close(tty);
    return p.escaped("tty", "opened /dev/tty: a controlling terminal");
  }
  how = "/dev/tty: " + error_text(errno);
  for (int fd = 0; fd <= 2; ++fd) {
    const char c = 'x';
    if (::ioctl(fd, TIOCSTI, &c) == 0) return p.escaped("tty", "TIOCSTI on fd " + std::to_string(fd));
  }
  p.blocked("tty", how + "; TIOCSTI fails on 0-2");
}

void probe_session(Prober& p) {
  if (::getsid(0) != ::getpid()) {
    return p.escaped("session", "shares session " + std::to_string(::getsid(0)) + " with its caller");
  }
  p.blocked("session", "leads its own session");
}

// Writes into every directory the request gives read-only.
void probe_read_only(Prober& p, const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    const std::string path = dir + "/" + kEscapeMark;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::close(fd);
      return p.escaped("read-only-dir", "created " + path);
    }
  }
  p.blocked("read-only-dir", std::to_string(dirs.size()) + " read-only directories refused a new file");
}

void probe_abstract_socket(Prober& p) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return p.blocked("abstract-socket", "socket(AF_UNIX): " + error_text(errno));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path + 1, kAbstractListener, std::strlen(kAbstractListener));
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + std::strlen(kAbstractListener));
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), length);
  const int e = errno;
  ::close(fd);
  if (rc == 0) return p.escaped("abstract-socket", std::string("connected to the host's @") + kAbstractListener);
  p.blocked("abstract-socket", "connect: " + error_text(e));
}

struct Dirs {
  std::vector<std::string> all;
  std::vector<std::string> read_only;
};

void add(Dirs& dirs, proto::FdRef::Reader ref) {
  if (!ref.hasPath() || ref.getPath().size() == 0) return;
  dirs.all.emplace_back(ref.getPath().cStr());
  if (!ref.getWritable()) dirs.read_only.emplace_back(ref.getPath().cStr());
}

Dirs request_dirs(proto::StageRequest::Reader request) {
  Dirs dirs;
  if (request.isFetcher()) add(dirs, request.getFetcher().getOutputDir());
  if (request.isInstaller()) {
    const auto in = request.getInstaller();
    add(dirs, in.getRootDir());
    add(dirs, in.getOutputDir());
    if (in.getBuildEnv().hasDir()) add(dirs, in.getBuildEnv().getDir());
  }
  if (request.isDiskmaker()) {
    add(dirs, request.getDiskmaker().getRootDir());
    add(dirs, request.getDiskmaker().getOutputDir());
  }
  return dirs;
}

void run_probes(proto::StageRequest::Reader request, ipc::StageContext& context, proto::StageResult::Builder) {
  Prober p(context);
  const Dirs dirs = request_dirs(request);
  probe_held_fds(p);
  probe_request_dirs(p, dirs.all);
  probe_read_only(p, dirs.read_only);
  // Only stages that run programs may fork; in the others clone() is fatal.
  if (request.isInstaller() || request.isDiskmaker()) probe_pid1(p);
  probe_write(p, "core-pattern", "/proc/sys/kernel/core_pattern");
  probe_write(p, "sysrq", "/proc/sysrq-trigger");
  probe_session(p);
  // Last, in this order: each may end the stage under its seccomp policy
  // (ioctl, socket), which the test takes as blocked.
  probe_terminal(p);
  probe_abstract_socket(p);
  throw base::Error(base::ErrorKind::kFailed, "hostile stage done");
}

proto::StageKind kind_from(const char* argv0) {
  const std::string name = fs::path(argv0).filename().string();
  if (name == "stage-fetcher") return proto::StageKind::FETCHER;
  if (name == "stage-diskmaker") return proto::StageKind::DISKMAKER;
  return proto::StageKind::INSTALLER;
}

}  // namespace

int main(int argc, char** argv) {
  return ipc::run_stage(argc, argv, kind_from(argv[0]), run_probes, [](int) { sandbox::install_sigsys_reporter(2); });
}
