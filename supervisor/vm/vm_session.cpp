#include "supervisor/vm/vm_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <span>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/vm/vm_process.hpp"

namespace supervisor {
namespace {

using base::UniqueFd;
using Clock = std::chrono::steady_clock;

// Console text kept in memory for the tail; older output is dropped.
constexpr std::size_t kConsoleKeep = 1 << 20;
constexpr std::size_t kStderrKeep = 64 << 10;

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  base::check_syscall(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), "create a pipe for", "qemu");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Appends what is readable on `fd` to `buffer`, keeping at most `keep`
// bytes; returns the bytes dropped from the front. EOF or EAGAIN ends it.
std::size_t drain(int fd, std::string& buffer, std::size_t keep) {
  std::array<char, 16384> chunk;
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    buffer.append(chunk.data(), static_cast<std::size_t>(n));
  }
  if (buffer.size() <= keep) return 0;
  const std::size_t dropped = buffer.size() - keep;
  buffer.erase(0, dropped);
  return dropped;
}

std::string exit_text(int status) {
  return WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                           : "was killed by " + signal_name(WTERMSIG(status));
}

// The child's ends of its stdio; closed here once QEMU has them.
struct ChildEnds {
  UniqueFd null_fd{base::check_syscall(::open("/dev/null", O_RDWR | O_CLOEXEC), "open", "/dev/null")};
  std::pair<UniqueFd, UniqueFd> console = make_pipe();
  std::pair<UniqueFd, UniqueFd> err = make_pipe();
};

class QemuSession final : public VmSession {
 public:
  QemuSession(const VmSpec& spec, SignalGate& signals, ChildEnds ends)
      : signals_(signals),
        console_fd_(std::move(ends.console.first)),
        err_fd_(std::move(ends.err.first)),
        vm_(qemu_argv(spec), spec.temp_dir,
            ChildStdio{.in = ends.null_fd.get(), .out = ends.console.second.get(), .err = ends.err.second.get()}) {}
  ~QemuSession() override { stop(); }

  ConsoleWait wait_for(const ConsoleWatcher& watcher, std::chrono::milliseconds timeout) override;
  void stop() override {
    if (vm_.running()) exit_why_ = exit_text(vm_.stop(kVmStopGrace));
  }
  const std::string& console() const override { return console_; }
  const std::string& qemu_stderr() const override { return stderr_; }

 private:
  std::optional<ConsoleSignal> read_console(const ConsoleWatcher& watcher);
  void read_stderr() { drain(err_fd_.get(), stderr_, kStderrKeep); }
  ConsoleWait ended(WaitEnd end, std::string why = {}, ConsoleSignal seen = {}) const {
    return {end, std::move(seen), std::move(why),
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_)};
  }
  ConsoleWait on_exit(const ConsoleWatcher& watcher);

  SignalGate& signals_;
  UniqueFd console_fd_;
  UniqueFd err_fd_;
  Clock::time_point started_ = Clock::now();
  VmProcess vm_;
  std::string console_;
  std::string stderr_;
  std::size_t scan_from_ = 0;  // start of the last line the watcher saw incomplete
  std::string exit_why_;
};

std::optional<ConsoleSignal> QemuSession::read_console(const ConsoleWatcher& watcher) {
  const std::size_t dropped = drain(console_fd_.get(), console_, kConsoleKeep);
  scan_from_ = scan_from_ > dropped ? scan_from_ - dropped : 0;
  std::optional<ConsoleSignal> seen = watcher(std::string_view(console_).substr(scan_from_));
  const auto nl = console_.rfind('\n');
  if (nl != std::string::npos) scan_from_ = std::max(scan_from_, nl + 1);
  return seen;
}

ConsoleWait QemuSession::on_exit(const ConsoleWatcher& watcher) {
  if (vm_.running()) exit_why_ = exit_text(vm_.wait());
  read_stderr();
  if (auto seen = read_console(watcher)) return ended(WaitEnd::kSeen, {}, std::move(*seen));
  return ended(WaitEnd::kVmExited, exit_why_);
}

ConsoleWait QemuSession::wait_for(const ConsoleWatcher& watcher, std::chrono::milliseconds timeout) {
  if (!vm_.running()) return on_exit(watcher);
  if (auto seen = read_console(watcher)) return ended(WaitEnd::kSeen, {}, std::move(*seen));
  const auto deadline = Clock::now() + timeout;
  pollfd fds[4] = {{console_fd_.get(), POLLIN, 0}, {err_fd_.get(), POLLIN, 0}, {vm_.pidfd(), POLLIN, 0},
                   {signals_.fd(), POLLIN, 0}};
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return ended(WaitEnd::kTimedOut);
    const int ready = ::poll(fds, 4, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    base::check_syscall(ready, "wait for", "qemu");
    if (fds[0].revents != 0) {
      if (auto seen = read_console(watcher)) return ended(WaitEnd::kSeen, {}, std::move(*seen));
    }
    if (fds[1].revents != 0) read_stderr();
    // A hung-up pipe stays readable: stop polling it.
    for (pollfd& p : std::span(fds, 2)) {
      if (p.revents & POLLHUP) p.fd = -1;
    }
    if (fds[2].revents != 0) return on_exit(watcher);
    if (fds[3].revents != 0) {
      if (const int sig = signals_.take(); sig != 0) return ended(WaitEnd::kInterrupted, signal_name(sig));
    }
  }
}

}  // namespace

std::unique_ptr<VmSession> start_qemu_session(const VmSpec& spec, SignalGate& signals) {
  base::check(spec.console == ConsoleMode::kCapture, "a VM session needs ConsoleMode::kCapture");
  return std::make_unique<QemuSession>(spec, signals, ChildEnds{});
}

}  // namespace supervisor
