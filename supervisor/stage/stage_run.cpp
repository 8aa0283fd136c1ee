#include "supervisor/stage/stage_run.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>

#include "ipc/error_codec.hpp"
#include "ipc/stage_kind.hpp"
#include "ipc/step_clock.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace asio = boost::asio;
using base::Error;
using base::ErrorKind;

// A write past the stage's RLIMIT_FSIZE fails with EFBIG in the stage (pid 1
// of its namespace ignores the SIGXFSZ) and kills a program it runs with
// SIGXFSZ: either way the error gets the limit as its hint.
void name_file_size_limit(ipc::proto::StageKind kind, Error& error) {
  const std::string& text = error.what();
  if (text.find("File too large") == std::string::npos && text.find("SIGXFSZ") == std::string::npos) return;
  for (const auto& limit : stage_info(kind).policy().rlimits) {
    if (limit.resource != RLIMIT_FSIZE) continue;
    error.with_hint("a file passed the stage's file size limit (RLIMIT_FSIZE " + std::to_string(limit.soft) +
                    " bytes, docs/sandbox.md)");
  }
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

ResourceUse resource_use_of(const struct rusage& usage) {
  return ResourceUse{
      .cpu = std::chrono::duration_cast<std::chrono::milliseconds>(ipc::cpu_time_of(usage)),
      .peak_rss_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024,  // ru_maxrss is in KiB
  };
}

ipc::proto::StageResult::Reader StageOutcome::result_reader() const {
  return result->getRoot<ipc::proto::StageResult>().asReader();
}

std::shared_ptr<StageRun> StageRun::start(asio::io_context& io, StageRunOptions options,
                                          LaunchedStage launched, capnp::MessageBuilder& request,
                                          std::vector<int> fds, DoneHandler on_done,
                                          ProgressHandler on_progress, LogHandler on_log) {
  std::shared_ptr<StageRun> run(new StageRun(io, std::move(options), std::move(launched),
                                             std::move(on_done), std::move(on_progress),
                                             std::move(on_log)));
  run->begin(request, std::move(fds));
  return run;
}

StageRun::StageRun(asio::io_context& io, StageRunOptions options, LaunchedStage launched,
                   DoneHandler on_done, ProgressHandler on_progress, LogHandler on_log)
    : io_(io),
      options_(std::move(options)),
      pid_(launched.pid),
      socket_(io, launched.socket.release()),
      log_(io, launched.log.release()),
      pidfd_(io, launched.pidfd.release()),
      timeout_timer_(io),
      grace_timer_(io),
      started_(std::chrono::steady_clock::now()),
      on_done_(std::move(on_done)),
      on_progress_(std::move(on_progress)),
      on_log_(std::move(on_log)) {}

StageRun::~StageRun() {
  // A run that is destroyed unfinished (supervisor unwinding) must not leave
  // its sandbox behind.
  if (!exited_ && pid_ > 0) {
    kill_now();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void StageRun::begin(capnp::MessageBuilder& request, std::vector<int> fds) {
  try {
    ipc::send_message(socket_.native_handle(), request, fds);
  } catch (const Error& e) {
    // The request could not be delivered (too large, too many fds, or the
    // stage died first): a stage waiting for it would wait forever.
    error_ = e;
    error_->with_stage(options_.name);
    kill_now();
  }
  timeout_timer_.expires_after(options_.timeout);
  timeout_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->exited_) return;
    self->timed_out_ = true;
    self->kill_now();
  });
  read_socket();
  read_log();
  wait_exit();
}

void StageRun::read_socket() {
  socket_.async_read_some(
      asio::buffer(socket_buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          if (!self->decoder_.idle() && !self->error_ && !self->result_) {
            self->fail_protocol(Error(ErrorKind::kSandboxViolation,
                                      "the stage closed its socket in the middle of a message"));
          }
          self->socket_closed_ = true;
          self->maybe_finish();
          return;
        }
        try {
          auto frames = self->decoder_.feed({self->socket_buffer_.data(), n});
          for (const auto& frame : frames) self->on_frame(frame);
        } catch (const Error& e) {
          self->fail_protocol(e);
          self->socket_closed_ = true;
          self->maybe_finish();
          return;
        }
        self->read_socket();
      });
}

void StageRun::on_frame(const ipc::Frame& frame) {
  auto message = frame.message();
  phase_ = ipc::validate_message(message, phase_, options_.kind, 0);
  switch (message.which()) {
    case ipc::proto::Message::PROGRESS:
      if (on_progress_) on_progress_(*this, message.getProgress());
      break;
    case ipc::proto::Message::LOG:
      if (on_log_) on_log_(*this, message.getLog().getLevel(), message.getLog().getText());
      break;
    case ipc::proto::Message::RESULT:
      result_ = std::make_unique<capnp::MallocMessageBuilder>();
      result_->setRoot(message.getResult());
      break;
    case ipc::proto::Message::ERROR:
      error_ = ipc::decode_error(message.getError(), options_.name);
      break;
    default:
      // validate_message admits nothing else from a stage.
      fail_protocol(Error(ErrorKind::kSandboxViolation, "unexpected message from the stage"));
  }
}

void StageRun::fail_protocol(Error error) {
  if (!error_) {
    // Whatever the decoder said, the stage broke the protocol: the stage may
    // be compromised, so this is a sandbox violation, not a plain failure.
    error_ = Error(ErrorKind::kSandboxViolation, "protocol violation on the stage socket: " + error.message());
    error_->with_stage(options_.name);
  }
  result_.reset();
  kill_now();
}

void StageRun::read_log() {
  log_.async_read_some(
      asio::buffer(log_buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (ec) {
          if (!self->log_partial_.empty()) self->log_lines_.push_back(self->log_partial_);
          self->log_closed_ = true;
          self->maybe_finish();
          return;
        }
        self->log_partial_.append(self->log_buffer_.data(), n);
        std::size_t pos;
        while ((pos = self->log_partial_.find('\n')) != std::string::npos) {
          std::string line = self->log_partial_.substr(0, pos);
          self->log_partial_.erase(0, pos + 1);
          if (self->on_log_) self->on_log_(*self, ipc::proto::LogLine::Level::DEBUG, line);
          self->log_lines_.push_back(std::move(line));
          if (self->log_lines_.size() > self->options_.log_tail_lines) self->log_lines_.pop_front();
        }
        // A stage that writes megabytes without a newline is cut, not buffered.
        if (self->log_partial_.size() > 64 * 1024) self->log_partial_.clear();
        self->read_log();
      });
}

void StageRun::wait_exit() {
  pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                    [self = shared_from_this()](const boost::system::error_code& ec) {
                      if (ec == asio::error::operation_aborted) return;
                      int status = 0;
                      struct rusage usage {};
                      while (::wait4(self->pid_, &status, 0, &usage) < 0 && errno == EINTR) {
                      }
                      self->wait_status_ = status;
                      self->usage_ = resource_use_of(usage);
                      self->exited_ = true;
                      self->timeout_timer_.cancel();
                      self->grace_timer_.cancel();
                      self->maybe_finish();
                    });
}

void StageRun::cancel(const std::string& reason) {
  if (exited_ || cancelled_) return;
  cancelled_ = true;
  if (!error_) {
    error_ = Error(ErrorKind::kFailed, "cancelled: " + reason);
    error_->with_stage(options_.name);
  }
  try {
    capnp::MallocMessageBuilder message;
    message.initRoot<ipc::proto::Message>().initCancel().setReason(reason);
    ipc::send_message(socket_.native_handle(), message);
  } catch (const Error&) {
    // Already gone: the exit watcher finishes the run.
  }
  grace_timer_.expires_after(options_.cancel_grace);
  grace_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && !self->exited_) self->kill_now();
  });
}

void StageRun::kill_now() {
  if (exited_ || pid_ <= 0) return;
  killed_ = true;
  // Through the pidfd, so a recycled pid can never be hit. The stage is pid 1
  // of its pid namespace: everything it started dies with it.
  if (::syscall(SYS_pidfd_send_signal, pidfd_.native_handle(), SIGKILL, nullptr, 0) < 0) {
    ::kill(pid_, SIGKILL);
  }
}

std::string StageRun::log_tail() const {
  std::string tail;
  for (const auto& line : log_lines_) tail.append("\n  | ").append(line);
  return tail;
}

Error StageRun::error_from_exit_status() const {
  const int status = wait_status_;
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGSYS) {
      std::string detail = "the stage made a system call its seccomp policy forbids";
      for (const auto& line : log_lines_) {
        if (line.rfind("seccomp:", 0) == 0) detail = line;
      }
      return Error(ErrorKind::kSandboxViolation, detail);
    }
    return Error(ErrorKind::kFailed, "the stage process was killed by " + signal_name(sig) +
                                         " before it reported a result" + log_tail());
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return Error(ErrorKind::kFailed, "the stage exited with status " + std::to_string(code) +
                                       " without reporting a result" + log_tail());
}

void StageRun::maybe_finish() {
  if (done_ || !exited_ || !socket_closed_ || !log_closed_) return;
  done_ = true;
  StageOutcome outcome;
  outcome.name = options_.name;
  outcome.pid = pid_;
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started_);
  outcome.usage = usage_;
  const bool clean_exit = WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0;
  if (timed_out_) {
    outcome.error = Error(ErrorKind::kFailed,
                          "did not finish within " + std::to_string(options_.timeout.count()) +
                              " s and was stopped" + log_tail());
  } else if (error_ && (cancelled_ || error_->kind() == ErrorKind::kSandboxViolation)) {
    outcome.error = std::move(error_);
  } else if (WIFSIGNALED(wait_status_) && WTERMSIG(wait_status_) == SIGSYS) {
    outcome.error = error_from_exit_status();
  } else if (error_) {
    outcome.error = std::move(error_);
  } else if (result_ && clean_exit) {
    outcome.result = std::move(result_);
  } else {
    outcome.error = error_from_exit_status();
  }
  if (outcome.error && outcome.error->stage().empty()) outcome.error->with_stage(options_.name);
  if (outcome.error) name_file_size_limit(options_.kind, *outcome.error);
  socket_.close();
  log_.close();
  pidfd_.close();
  auto on_done = std::move(on_done_);
  on_done(std::move(outcome));
}

}  // namespace supervisor
