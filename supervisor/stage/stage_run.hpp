// One running stage process as the supervisor sees it: its socket, its
// stderr, its pidfd and a timeout, all driven by one Boost.Asio io_context.
// A StageRun owns the process: when it finishes (result, error, death,
// timeout or cancellation) the whole sandbox is gone.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <capnp/message.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "ipc/framing.hpp"
#include "ipc/stage.capnp.h"
#include "base/unique_fd.hpp"

namespace supervisor {

// A started stage process and the supervisor's ends of its channels.
struct LaunchedStage {
  pid_t pid = -1;
  base::UniqueFd pidfd;   // becomes readable when the process exits
  base::UniqueFd socket;  // the stage socket (its fd 3)
  base::UniqueFd log;     // read end of the stage's stderr
};

// What a finished stage left behind. Exactly one of result/error is set.
// What the stage's process tree used, from the kernel's accounting at its
// exit (wait4): the stage's pid 1 reaps everything it started, so the
// figures include dpkg, mkfs and every other program run inside.
struct ResourceUse {
  std::chrono::milliseconds cpu{0};  // user + system
  std::uint64_t peak_rss_bytes = 0;  // the largest single process's resident set
};

ResourceUse resource_use_of(const struct rusage& usage);

struct StageOutcome {
  std::string name;
  std::unique_ptr<capnp::MallocMessageBuilder> result;  // holds a StageResult
  std::optional<base::Error> error;
  std::chrono::milliseconds elapsed{0};
  ResourceUse usage;
  pid_t pid = -1;

  bool ok() const { return result != nullptr; }
  ipc::proto::StageResult::Reader result_reader() const;
};

struct StageRunOptions {
  std::string name;  // "fetcher", or "fetcher[2]" for one of several runs
  ipc::proto::StageKind kind = ipc::proto::StageKind::FETCHER;
  std::chrono::seconds timeout{3600};
  // Grace between a cancel message and SIGKILL of the sandbox.
  std::chrono::milliseconds cancel_grace{2000};
  std::size_t log_tail_lines = 20;
};

class StageRun : public std::enable_shared_from_this<StageRun> {
 public:
  using ProgressHandler = std::function<void(const StageRun&, ipc::proto::Progress::Reader)>;
  using LogHandler = std::function<void(const StageRun&, ipc::proto::LogLine::Level, const std::string&)>;
  using DoneHandler = std::function<void(StageOutcome)>;

  // Sends `request` (a Message holding a request) with `fds`, then watches
  // the process until it is done; `on_done` runs exactly once, on the
  // io_context's thread.
  static std::shared_ptr<StageRun> start(boost::asio::io_context& io, StageRunOptions options,
                                         LaunchedStage launched,
                                         capnp::MessageBuilder& request,
                                         std::vector<int> fds, DoneHandler on_done,
                                         ProgressHandler on_progress = {},
                                         LogHandler on_log = {});

  ~StageRun();
  StageRun(const StageRun&) = delete;
  StageRun& operator=(const StageRun&) = delete;

  // Asks the stage to stop, then kills it after the grace period.
  void cancel(const std::string& reason);
  // Kills the stage now (SIGKILL to pid 1 of its pid namespace).
  void kill_now();

  const std::string& name() const { return options_.name; }
  pid_t pid() const { return pid_; }
  bool finished() const { return done_; }

 private:
  StageRun(boost::asio::io_context& io, StageRunOptions options, LaunchedStage launched,
           DoneHandler on_done, ProgressHandler on_progress, LogHandler on_log);

  void begin(capnp::MessageBuilder& request, std::vector<int> fds);
  void read_socket();
  void read_log();
  void wait_exit();
  void on_frame(const ipc::Frame& frame);
  void fail_protocol(base::Error error);
  void maybe_finish();
  base::Error error_from_exit_status() const;
  std::string log_tail() const;

  boost::asio::io_context& io_;
  StageRunOptions options_;
  pid_t pid_;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::posix::stream_descriptor log_;
  boost::asio::posix::stream_descriptor pidfd_;
  boost::asio::steady_timer timeout_timer_;
  boost::asio::steady_timer grace_timer_;
  ipc::FrameDecoder decoder_;
  ipc::Phase phase_ = ipc::Phase::kSupervisorRunning;
  std::array<std::uint8_t, 64 * 1024> socket_buffer_{};
  std::array<char, 4096> log_buffer_{};
  std::string log_partial_;
  std::deque<std::string> log_lines_;
  std::unique_ptr<capnp::MallocMessageBuilder> result_;
  std::optional<base::Error> error_;
  bool socket_closed_ = false;
  bool log_closed_ = false;
  bool exited_ = false;
  int wait_status_ = 0;
  ResourceUse usage_;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool killed_ = false;
  bool done_ = false;
  std::chrono::steady_clock::time_point started_;
  DoneHandler on_done_;
  ProgressHandler on_progress_;
  LogHandler on_log_;
};

}  // namespace supervisor
