// The harness every stage's main() hands off to:
//
//   int main(int argc, char** argv) {
//     return ipc::run_stage(argc, argv, ipc::proto::StageKind::FETCHER, stage::fetcher::run_request,
//                           [](int fd) { sandbox::install_sigsys_reporter(fd); });
//   }
//
// It reads exactly one request frame from the stage socket (fd 3, or
// `--socket FD`), checks it is for this stage, calls the handler, and sends
// the result or the encoded base::Error. It is the only place that catches.
// `--request FILE` runs the handler on a request file instead (JSON or
// Cap'n Proto text, FdRefs by path) and prints the result as JSON on stdout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/framing.hpp"
#include "ipc/stage.capnp.h"
#include "ipc/step_clock.hpp"
#include "base/unique_fd.hpp"

namespace ipc {

inline constexpr int kDefaultStageSocketFd = 3;

struct ProgressUpdate {
  std::string phase;
  std::uint64_t done = 0;
  std::uint64_t total = 0;  // 0 = unknown
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  std::uint32_t files_done = 0;
  std::uint32_t files_total = 0;
  double rate_per_sec = 0;
  std::string item;
};

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// What a handler may do besides computing its result. Thread-safe: worker
// threads may report progress and check cancellation concurrently.
class StageContext {
 public:
  // `socket_fd` < 0: no supervisor; progress and logs go to stderr.
  StageContext(int socket_fd, proto::StageKind kind, std::vector<base::UniqueFd> fds,
               FrameLimits limits = {});

  proto::StageKind kind() const { return kind_; }

  // Progress is rate-limited (phase changes and completion always go out).
  void progress(const ProgressUpdate& update);
  void log(LogLevel level, std::string_view text);

  // True once the supervisor sent cancel or closed the socket.
  bool cancelled();
  // Throws Error(kFailed, "Cancelled ...") when cancelled().
  void check_cancelled();

  // The fd passed in `slot` with the request; each slot can be taken once.
  base::UniqueFd take_fd(int slot, std::string_view what);
  // The file or directory `ref` names: its slot's fd, or `ref.path` opened
  // with open(2) `flags` (O_CLOEXEC is added). Exactly one must be set.
  base::UniqueFd open(proto::FdRef::Reader ref, int flags, std::string_view what);
  std::size_t fd_count() const { return fds_.size(); }

  // Sends one message to the supervisor (used by run_stage for the result).
  void send(capnp::MessageBuilder& message);
  // Ends the step clock (every phase reported so far) into `result.steps`.
  void write_steps(proto::StageResult::Builder result);

 private:
  int socket_fd_;
  proto::StageKind kind_;
  std::vector<base::UniqueFd> fds_;
  FrameLimits limits_;
  std::mutex send_mutex_;
  std::mutex receive_mutex_;
  bool cancelled_ = false;
  std::string cancel_reason_;
  std::string last_phase_;
  StepClock steps_;  // guarded by send_mutex_, as last_phase_
  std::chrono::steady_clock::time_point last_progress_{};
};

// Fills `result` (init the member for this stage) from `request`.
using Handler = std::function<void(proto::StageRequest::Reader request, StageContext& context,
                                   proto::StageResult::Builder result)>;
// Runs before anything else that could fault, with the stage socket fd
// (e.g. to install the SIGSYS reporter). May be null.
using EarlyInit = void (*)(int socket_fd);

// Exit code: 0 = result sent, 1 = failed (error sent when possible).
int run_stage(int argc, char** argv, proto::StageKind kind, const Handler& handler,
              EarlyInit early_init = nullptr);

// The socket half of run_stage, callable from tests on one end of a socketpair.
int serve_stage_request(int socket_fd, proto::StageKind kind, const Handler& handler,
                        const FrameLimits& limits = {});

}  // namespace ipc
