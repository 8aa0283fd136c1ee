#include "base/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace base {
namespace {

std::pair<UniqueFd, UniqueFd> make_pipe(std::string_view program) {
  int fds[2];
  check_syscall(::pipe2(fds, O_CLOEXEC), "create a pipe for", program);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Kills and reaps the child unless it was waited for (an exception between
// fork and waitpid must not leave a program running on the caller's files).
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (pid_ <= 0) return;
    kill();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  void kill() { ::kill(pid_, SIGKILL); }
  int wait(std::string_view program) {
    int status = 0;
    while (check_syscall(::waitpid(pid_, &status, 0), "wait for", program) != pid_) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

struct ChildFds {
  int in, out, err;
  int above_moves;  // more than every number an fd is moved to
  const std::vector<int>& inherit;
  const std::vector<std::pair<int, int>>& moves;
};

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, const ChildFds& fds) {
  if (::dup2(fds.in, 0) < 0 || ::dup2(fds.out, 1) < 0 || ::dup2(fds.err, 2) < 0) ::_exit(127);
  ::signal(SIGPIPE, SIG_DFL);  // stages ignore it; ignored signals survive exec
  // Each moved fd first goes above every target number, so one move cannot
  // overwrite the source of the next.
  std::array<int, 8> high{};
  const std::size_t moves = fds.moves.size() < high.size() ? fds.moves.size() : high.size();
  for (std::size_t i = 0; i < moves; ++i) {
    high[i] = ::fcntl(fds.moves[i].first, F_DUPFD_CLOEXEC, fds.above_moves);
    if (high[i] < 0) ::_exit(127);
  }
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  for (std::size_t i = 0; i < moves; ++i) {
    if (::dup2(high[i], fds.moves[i].second) < 0) ::_exit(127);
  }
  for (int fd : fds.inherit) ::fcntl(fd, F_SETFD, 0);
  ::execve(path, argv, envp);
  ::_exit(127);
}

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The parent's ends of the child's pipes, fed and drained until all close.
struct Pump {
  UniqueFd in, out, err;
  const std::string* input = nullptr;
  std::size_t written = 0;
  std::size_t max_out = std::string::npos;

  // False at EOF or on an error of the pipe.
  static bool drain(int fd, std::string& into) {
    std::array<char, 65536> buffer;
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    into.append(buffer.data(), static_cast<std::size_t>(n));
    return n > 0;
  }

  void feed() {
    const ssize_t n = ::write(in.get(), input->data() + written, input->size() - written);
    if (n > 0) written += static_cast<std::size_t>(n);
    if (n < 0 && errno != EAGAIN && errno != EINTR) in.reset();  // the child stopped reading
    if (written == input->size()) in.reset();
  }

  // Runs until every pipe is done, or stdout passed max_out (then true).
  bool run(ChildOutcome& outcome, std::string_view program) {
    if (in.valid()) ::fcntl(in.get(), F_SETFL, O_NONBLOCK);
    while (in.valid() || out.valid() || err.valid()) {
      std::array<pollfd, 3> fds{pollfd{out.valid() ? out.get() : -1, POLLIN, 0},
                                pollfd{err.valid() ? err.get() : -1, POLLIN, 0},
                                pollfd{in.valid() ? in.get() : -1, POLLOUT, 0}};
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        check_syscall(-1, "wait for the output of", program);
      }
      if (fds[2].revents != 0) feed();
      if (fds[0].revents != 0 && !drain(out.get(), outcome.out)) out.reset();
      if (fds[1].revents != 0 && !drain(err.get(), outcome.err)) err.reset();
      if (outcome.err.size() > 2 * kChildErrKept) outcome.err.erase(0, outcome.err.size() - kChildErrKept);
      if (outcome.out.size() > max_out) {
        outcome.out.resize(max_out);
        return true;
      }
    }
    return false;
  }
};

}  // namespace

std::string ChildOutcome::status_text() const {
  if (truncated) return "wrote more output than is read (killed)";
  return signal != 0 ? "was killed by signal " + std::to_string(signal)
                     : "exited with status " + std::to_string(exit_code);
}

ChildOutcome run_child(const ChildCommand& command) {
  check(!command.argv.empty(), "run_child needs a program");
  check(command.move_fds.size() <= 8, "run_child moves at most 8 fds");
  const std::string& program = command.path.empty() ? command.argv[0] : command.path;
  std::vector<char*> argv = pointers(command.argv);
  std::vector<char*> envp = pointers(command.env);
  // Only ever the child's stdin: read-only, so a stage whose policy refuses opens for writing runs programs too.
  UniqueFd null_fd(check_syscall(::open("/dev/null", O_RDONLY | O_CLOEXEC), "open", "/dev/null"));
  auto [in_read, in_write] = command.input ? make_pipe(program) : std::pair<UniqueFd, UniqueFd>{};
  auto [out_read, out_write] = command.separate_stdout ? make_pipe(program) : std::pair<UniqueFd, UniqueFd>{};
  auto [err_read, err_write] = make_pipe(program);
  const int child_out = command.stdout_fd >= 0 ? command.stdout_fd
                        : command.separate_stdout ? out_write.get()
                                                  : err_write.get();
  int above_moves = 3;
  for (const auto& [from, to] : command.move_fds) {
    check(to >= 3, "run_child moves fds to 3 and above only");
    above_moves = std::max(above_moves, to + 1);
  }
  const ChildFds fds{command.input ? in_read.get() : null_fd.get(), child_out, err_write.get(), above_moves,
                     command.inherit_fds, command.move_fds};
  const pid_t pid = check_syscall(::fork(), "fork for", program);
  if (pid == 0) exec_child(program.c_str(), argv.data(), envp.data(), fds);
  Child child(pid);
  in_read.reset();
  out_write.reset();
  err_write.reset();
  ChildOutcome outcome;
  Pump pump{std::move(in_write), std::move(out_read), std::move(err_read), command.input ? &*command.input : nullptr,
            0, command.max_stdout};
  outcome.truncated = pump.run(outcome, program);
  if (outcome.truncated) child.kill();
  const int status = child.wait(program);
  if (outcome.err.size() > kChildErrKept) outcome.err.erase(0, outcome.err.size() - kChildErrKept);
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  return outcome;
}

std::filesystem::path find_host_program(std::string_view program, std::string_view package,
                                        std::span<const char* const> dirs) {
  std::string searched;
  for (const char* dir : dirs) {
    std::filesystem::path path = std::string(dir) + std::string(program);
    if (::access(path.c_str(), X_OK) == 0) return path;
    searched += (searched.empty() ? "" : ", ") + std::string(dir).substr(0, std::string(dir).size() - 1);
  }
  Error error(ErrorKind::kFailed, "Failed to find the host program '" + std::string(program) + "' in " + searched);
  if (!package.empty()) error.with_hint("install " + std::string(program) + " (Debian package " + std::string(package) + ")");
  throw error;
}

std::string last_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  while (pos > 0 && text[pos - 1] == '\n') --pos;
  const std::size_t end = pos;
  for (std::size_t n = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++n == lines) break;
  }
  return text.substr(pos, end - pos);
}

}  // namespace base
