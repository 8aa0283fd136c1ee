#include "stages/signer/program.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace stage::signer {
namespace {

using base::UniqueFd;

constexpr std::size_t kOutputKept = 64 * 1024;

// Kills and reaps the child unless it was waited for.
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
  int wait(std::string_view program) {
    int status = 0;
    while (base::check_syscall(::waitpid(pid_, &status, 0), "wait for", program) != pid_) {
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, int in_fd, int out_fd) {
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) ::_exit(127);
  ::signal(SIGPIPE, SIG_DFL);  // ignored signals survive exec
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(path, argv, envp);
  ::_exit(127);
}

std::string read_output(UniqueFd out, std::string_view program) {
  std::string output;
  std::array<char, 16384> buffer;
  for (;;) {
    const ssize_t n = ::read(out.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read the output of", program);
    if (n == 0) break;
    output.append(buffer.data(), static_cast<std::size_t>(n));
    if (output.size() > 2 * kOutputKept) output.erase(0, output.size() - kOutputKept);
  }
  if (output.size() > kOutputKept) output.erase(0, output.size() - kOutputKept);
  return output;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ProgramOutcome::status_text() const {
  return signal != 0 ? "was killed by signal " + std::to_string(signal)
                     : "exited with status " + std::to_string(exit_code);
}

std::filesystem::path find_program(std::string_view program, std::string_view package) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/"}) {
    std::filesystem::path path = std::string(dir) + std::string(program);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  throw base::Error(base::ErrorKind::kFailed,
                    "Failed to find the host program '" + std::string(program) + "' in /usr/bin, /usr/sbin")
      .with_hint("install " + std::string(program) + " (Debian package " + std::string(package) + ")");
}

ProgramOutcome run_program(const std::vector<std::string>& argv) {
  base::check(!argv.empty(), "run_program needs a program");
  std::vector<std::string> args = argv;
  std::vector<std::string> env = {"PATH=/usr/bin:/usr/sbin", "LC_ALL=C", "OPENSSL_CONF=/dev/null"};
  std::vector<char*> argp = pointers(args);
  std::vector<char*> envp = pointers(env);
  const std::string& program = argv[0];
  UniqueFd null_fd(base::check_syscall(::open("/dev/null", O_RDONLY | O_CLOEXEC), "open", "/dev/null"));
  int fds[2];
  base::check_syscall(::pipe2(fds, O_CLOEXEC), "create a pipe for", program);
  UniqueFd out_read(fds[0]);
  UniqueFd out_write(fds[1]);
  const pid_t pid = base::check_syscall(::fork(), "fork for", program);
  if (pid == 0) exec_child(program.c_str(), argp.data(), envp.data(), null_fd.get(), out_write.get());
  Child child(pid);
  out_write.reset();
  ProgramOutcome outcome;
  outcome.output = read_output(std::move(out_read), program);
  const int status = child.wait(program);
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  return outcome;
}

}  // namespace stage::signer
