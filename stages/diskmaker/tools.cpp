#include "stages/diskmaker/tools.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::diskmaker {
namespace {

using base::UniqueFd;

constexpr std::size_t kOutputKept = 64 * 1024;

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  base::check_syscall(::pipe2(fds, O_CLOEXEC), "create a pipe for a tool");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Kills and reaps the child unless it was waited for (an exception between
// fork and waitpid must not leave a tool running on the disk file).
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  int wait() {
    int status = 0;
    while (base::check_syscall(::waitpid(pid_, &status, 0), "wait for a tool") != pid_) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, int in_fd, int out_fd,
                             int err_fd, const std::vector<int>& inherit) {
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(127);
  ::signal(SIGPIPE, SIG_DFL);  // the stage ignores it; ignored signals survive exec
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int fd : inherit) ::fcntl(fd, F_SETFD, 0);
  ::execve(path, argv, envp);
  ::_exit(127);
}

// Feeds `input` to `in` and collects `out` until both are done.
std::string pump(UniqueFd in, const std::string& input, UniqueFd out) {
  std::string output;
  std::size_t written = 0;
  if (in.valid()) ::fcntl(in.get(), F_SETFL, O_NONBLOCK);
  std::array<char, 16384> buffer;
  while (out.valid() || in.valid()) {
    std::array<pollfd, 2> fds{pollfd{out.valid() ? out.get() : -1, POLLIN, 0},
                              pollfd{in.valid() ? in.get() : -1, POLLOUT, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      base::check_syscall(-1, "poll a tool's pipes");
    }
    if (fds[1].revents != 0) {
      const ssize_t n = ::write(in.get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) in.reset();  // the tool stopped reading
      if (written == input.size()) in.reset();
    }
    if (fds[0].revents != 0) {
      const ssize_t n = ::read(out.get(), buffer.data(), buffer.size());
      if (n > 0) {
        output.append(buffer.data(), static_cast<std::size_t>(n));
        if (output.size() > 2 * kOutputKept) output.erase(0, output.size() - kOutputKept);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        out.reset();
      }
    }
  }
  if (output.size() > kOutputKept) output.erase(0, output.size() - kOutputKept);
  return output;
}

std::string tail(const std::string& output, std::size_t lines) {
  std::size_t pos = output.size();
  while (pos > 0 && (output[pos - 1] == '\n')) --pos;
  const std::size_t end = pos;
  for (std::size_t n = 0; pos > 0; --pos) {
    if (output[pos - 1] == '\n' && ++n == lines) break;
  }
  return output.substr(pos, end - pos);
}

}  // namespace

std::optional<std::filesystem::path> locate_tool(std::string_view program) {
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
    std::filesystem::path path = std::string(dir) + std::string(program);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return std::nullopt;
}

std::filesystem::path find_tool(std::string_view program) {
  if (auto path = locate_tool(program)) return *path;
  const std::string_view package = tool_package(program);
  base::Error error(base::ErrorKind::kFailed,
                   "Failed to find the host program '" + std::string(program) + "' in /usr/sbin, /usr/bin");
  if (!package.empty()) {
    error.with_hint("install " + std::string(program) + " (Debian package " + std::string(package) + ")");
  }
  throw error;
}

std::vector<std::string> default_tool_env() {
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "TZ=UTC", "HOME=/tmp",
                                  "MTOOLS_SKIP_CHECK=1"};
  // Timestamps the tools make up themselves: mtools reads SOURCE_DATE_EPOCH,
  // mke2fs E2FSPROGS_FAKE_TIME.
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) {
    env.push_back(std::string("SOURCE_DATE_EPOCH=") + epoch);
    env.push_back(std::string("E2FSPROGS_FAKE_TIME=") + epoch);
  }
  return env;
}

ToolOutcome run_tool(const ToolCommand& command) {
  base::check(!command.argv.empty(), "run_tool needs a program");
  // A path is run as it is (the isomaker runs a tree's dynamic loader); a
  // name is a host program.
  const std::string& program = command.argv[0];
  const std::string path = program.find('/') != std::string::npos ? program : find_tool(program).string();
  std::vector<std::string> env = default_tool_env();
  env.insert(env.end(), command.env.begin(), command.env.end());
  std::vector<char*> argv;
  for (const auto& a : command.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  UniqueFd null_fd(base::check_syscall(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null"));
  auto [in_read, in_write] = command.input ? make_pipe() : std::pair<UniqueFd, UniqueFd>{};
  auto [out_read, out_write] = make_pipe();
  const int child_in = command.input ? in_read.get() : null_fd.get();
  const int child_out = command.stdout_fd >= 0 ? command.stdout_fd : out_write.get();
  const pid_t pid = base::check_syscall(::fork(), "fork", command.argv[0]);
  if (pid == 0) exec_child(path.c_str(), argv.data(), envp.data(), child_in, child_out, out_write.get(),
                           command.inherit_fds);
  Child child(pid);
  in_read.reset();
  out_write.reset();
  ToolOutcome outcome;
  outcome.output = pump(std::move(in_write), command.input.value_or(""), std::move(out_read));
  const int status = child.wait();
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  return outcome;
}

std::string run_tool_checked(const ToolCommand& command, std::string_view what) {
  ToolOutcome outcome = run_tool(command);
  if (outcome.ok()) return std::move(outcome.output);
  std::string message = "Failed to " + std::string(what) + ": " + command.argv[0];
  message += outcome.signal != 0 ? " was killed by signal " + std::to_string(outcome.signal)
                                 : " exited with status " + std::to_string(outcome.exit_code);
  if (outcome.exit_code == 127) message += " (it could not be started)";
  const std::string last = tail(outcome.output, 12);
  if (!last.empty()) message += "\n" + last;
  throw base::Error(base::ErrorKind::kFailed, std::move(message));
}

}  // namespace stage::diskmaker
