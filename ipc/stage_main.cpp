#include "ipc/stage_main.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

#include "base/error.hpp"
#include "ipc/error_codec.hpp"
#include "ipc/request_file.hpp"
#include "ipc/stage_kind.hpp"

namespace ipc {
namespace {

constexpr auto kProgressInterval = std::chrono::milliseconds(100);

proto::LogLine::Level to_proto(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return proto::LogLine::Level::DEBUG;
    case LogLevel::kInfo: return proto::LogLine::Level::INFO;
    case LogLevel::kWarning: return proto::LogLine::Level::WARNING;
    case LogLevel::kError: return proto::LogLine::Level::ERROR;
  }
  return proto::LogLine::Level::INFO;
}

struct Arguments {
  int socket_fd = kDefaultStageSocketFd;
  std::optional<std::string> request_file;
};

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    base::require(i + 1 < argc, "Failed to parse arguments: '" + std::string(arg) + "' needs a value");
    const std::string value = argv[++i];
    if (arg == "--socket") {
      char* end = nullptr;
      const long fd = std::strtol(value.c_str(), &end, 10);
      base::require(*end == '\0' && fd >= 0 && fd < 1024,
              "Failed to parse arguments: '" + value + "' is not an fd number");
      args.socket_fd = static_cast<int>(fd);
    } else if (arg == "--request") {
      args.request_file = value;
    } else {
      base::fail(base::ErrorKind::kInvalidInput, "Failed to parse arguments: unknown option '" +
                                         std::string(arg) + "' (use --socket FD or --request FILE)");
    }
  }
  return args;
}

// Calls the handler and checks it filled in the result for this stage.
void run_handler(proto::StageRequest::Reader request, StageContext& context, const Handler& handler,
                 capnp::MallocMessageBuilder& reply) {
  auto result = reply.initRoot<proto::Message>().initResult();
  handler(request, context, result);
  base::check(result_kind(result.asReader()) == context.kind(),
        "Stage handler did not produce a " + std::string(to_string(context.kind())) + " result");
  context.write_steps(result);
}

base::Error to_error(const std::exception& e) {
  if (const auto* error = dynamic_cast<const base::Error*>(&e)) return *error;
  return base::Error(base::ErrorKind::kFailed, e.what());
}

// `--request FILE`: no supervisor; the result or error goes to stdout/stderr.
int run_request_file(const std::string& path, proto::StageKind kind, const Handler& handler) {
  try {
    const Frame frame = read_request_file(path, kind);
    StageContext context(-1, kind, {});
    capnp::MallocMessageBuilder reply;
    run_handler(frame.message().getRequest(), context, handler, reply);
    std::cout << result_to_json(reply.getRoot<proto::Message>().getResult().asReader()) << "\n";
    return 0;
  } catch (const std::exception& e) {
    base::Error error = to_error(e);
    error.with_stage(std::string(to_string(kind)));
    std::cerr << error.what() << "\n";
    return 1;
  }
}

}  // namespace

StageContext::StageContext(int socket_fd, proto::StageKind kind,
                           std::vector<base::UniqueFd> fds, FrameLimits limits)
    : socket_fd_(socket_fd), kind_(kind), fds_(std::move(fds)), limits_(limits) {}

void StageContext::send(capnp::MessageBuilder& message) {
  std::lock_guard lock(send_mutex_);
  send_message(socket_fd_, message, {}, limits_);
}

void StageContext::progress(const ProgressUpdate& update) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(send_mutex_);
    const bool final = update.total != 0 && update.done >= update.total;
    if (update.phase == last_phase_ && !final && now - last_progress_ < kProgressInterval) return;
    if (update.phase != last_phase_) steps_.enter(update.phase);
    last_phase_ = update.phase;
    last_progress_ = now;
  }
  if (socket_fd_ < 0) {
    std::cerr << to_string(kind_) << ": " << update.phase << " " << update.done << "/"
              << update.total << " " << update.item << "\n";
    return;
  }
  capnp::MallocMessageBuilder message;
  auto p = message.initRoot<proto::Message>().initProgress();
  p.setStage(kind_);
  p.setPhase(update.phase);
  p.setDone(update.done);
  p.setTotal(update.total);
  p.setBytesDone(update.bytes_done);
  p.setBytesTotal(update.bytes_total);
  p.setFilesDone(update.files_done);
  p.setFilesTotal(update.files_total);
  p.setRatePerSec(update.rate_per_sec);
  p.setItem(update.item);
  send(message);
}

void StageContext::write_steps(proto::StageResult::Builder result) {
  std::lock_guard lock(send_mutex_);
  steps_.write(result);
}

void StageContext::log(LogLevel level, std::string_view text) {
  if (socket_fd_ < 0) {
    std::cerr << to_string(kind_) << ": " << text << "\n";
    return;
  }
  capnp::MallocMessageBuilder message;
  auto line = message.initRoot<proto::Message>().initLog();
  line.setLevel(to_proto(level));
  const std::string copy(text);  // capnp wants NUL-terminated text
  line.setText(copy);
  send(message);
}

bool StageContext::cancelled() {
  std::lock_guard lock(receive_mutex_);
  if (cancelled_ || socket_fd_ < 0) return cancelled_;
  pollfd p{socket_fd_, POLLIN, 0};
  if (base::check_syscall(::poll(&p, 1, 0), "poll stage socket") == 0) return false;
  try {
    const auto received = receive_message(socket_fd_, limits_);
    validate_message(received.message(), Phase::kStageRunning, kind_, received.fds.size());
    cancel_reason_ = received.message().getCancel().getReason().cStr();
  } catch (const base::Error& e) {
    if (e.kind() != base::ErrorKind::kDisconnected) throw;
    cancel_reason_ = "the supervisor closed the socket";
  }
  cancelled_ = true;
  return true;
}

void StageContext::check_cancelled() {
  if (!cancelled()) return;
  std::lock_guard lock(receive_mutex_);
  base::fail(base::ErrorKind::kFailed, "Cancelled by the supervisor: " + cancel_reason_);
}

base::UniqueFd StageContext::take_fd(int slot, std::string_view what) {
  base::require(slot >= 0 && static_cast<std::size_t>(slot) < fds_.size(),
          "Failed to open " + std::string(what) + ": fd slot " + std::to_string(slot) +
              " was not passed with the request");
  base::require(fds_[slot].valid(), "Failed to open " + std::string(what) + ": fd slot " +
                                  std::to_string(slot) + " was already taken");
  return std::move(fds_[slot]);
}

base::UniqueFd StageContext::open(proto::FdRef::Reader ref, int flags, std::string_view what) {
  const bool has_path = ref.hasPath() && ref.getPath().size() > 0;
  base::require((ref.getSlot() >= 0) != has_path,
          "Failed to open " + std::string(what) + ": exactly one of slot and path must be set");
  if (!has_path) return take_fd(ref.getSlot(), what);
  const std::string path = ref.getPath();
  return base::UniqueFd(base::check_syscall(::open(path.c_str(), flags | O_CLOEXEC, 0644),
                                         "open " + std::string(what), path));
}

int serve_stage_request(int socket_fd, proto::StageKind kind, const Handler& handler,
                        const FrameLimits& limits) {
  capnp::MallocMessageBuilder reply;
  try {
    auto received = receive_message(socket_fd, limits);
    validate_message(received.message(), Phase::kStageAwaitingRequest, kind, received.fds.size());
    StageContext context(socket_fd, kind, std::move(received.fds), limits);
    run_handler(received.message().getRequest(), context, handler, reply);
    send_message(socket_fd, reply, {}, limits);
    return 0;
  } catch (const std::exception& e) {
    base::Error error = to_error(e);
    error.with_stage(std::string(to_string(kind)));
    try {
      capnp::MallocMessageBuilder message;
      encode_error(error, message.initRoot<proto::Message>().initError());
      send_message(socket_fd, message, {}, limits);
    } catch (const std::exception& send_failure) {
      // The supervisor is gone: stderr is the last place left to say why.
      std::cerr << error.what() << "\n(" << send_failure.what() << ")\n";
    }
    return 1;
  }
}

int run_stage(int argc, char** argv, proto::StageKind kind, const Handler& handler,
              EarlyInit early_init) {
  // Before anything untrusted runs (maintainer scripts, configuration
  // commands, a parsed package): a process that is not dumpable keeps its
  // /proc/PID/{fd,root,cwd,mem,environ} closed to others in its user
  // namespace that lack CAP_SYS_PTRACE, which no stage keeps. execve()
  // resets the flag, so it is set here and not by the launcher.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    std::cerr << "stage-" << to_string(kind) << ": Failed to make the stage not dumpable: " << std::strerror(errno)
              << "\n";
    return 1;
  }
  Arguments args;
  try {
    args = parse_arguments(argc, argv);
  } catch (const base::Error& e) {
    std::cerr << "stage-" << to_string(kind) << ": " << e.what() << "\n";
    return 1;
  }
  if (early_init != nullptr) early_init(args.socket_fd);
  if (args.request_file) return run_request_file(*args.request_file, kind, handler);
  return serve_stage_request(args.socket_fd, kind, handler);
}

}  // namespace ipc
