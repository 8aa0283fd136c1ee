#include "ipc/framing.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <capnp/dynamic.h>
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "ipc/stage_kind.hpp"

namespace ipc {
namespace {

// Only regular files, pipes, sockets and character devices cross a stage
// socket. A directory fd is a handle on the sender's mount namespace:
// openat(fd, "..") walks out of the receiver's root (CVE-2024-21626), so
// directories are bound inside the stage's root and named by path instead.
void require_passable_fd(int fd, std::size_t slot, const char* verb) {
  struct stat st {};
  base::check_syscall(::fstat(fd, &st), "inspect the fd in slot", std::to_string(slot));
  const bool passable = S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode);
  if (passable) return;
  throw base::Error(base::ErrorKind::kSandboxViolation,
              std::string("Refused to ") + verb + " the fd in slot " + std::to_string(slot) +
                  (S_ISDIR(st.st_mode) ? ": it is a directory" : ": it is neither a file, a pipe nor a socket") +
                  "; directories reach a stage only as mounts inside its own root, named by path");
}

// Touches every field present so that malformed pointers, wrong list element
// sizes, unknown union tags and unknown enumerants fail here, once, instead of
// in stage code later.
void walk_value(const capnp::DynamicValue::Reader& value);

void walk_struct(const capnp::DynamicStruct::Reader& s) {
  const auto schema = s.getSchema();
  for (auto field : schema.getNonUnionFields()) {
    if (s.has(field)) walk_value(s.get(field));
  }
  if (schema.getUnionFields().size() == 0) return;
  KJ_IF_MAYBE(field, s.which()) {
    walk_value(s.get(*field));
  } else {
    base::fail(base::ErrorKind::kInvalidInput,
         std::string("unknown union member in '") + schema.getShortDisplayName().cStr() + "'");
  }
}

void walk_value(const capnp::DynamicValue::Reader& value) {
  switch (value.getType()) {
    case capnp::DynamicValue::STRUCT:
      walk_struct(value.as<capnp::DynamicStruct>());
      break;
    case capnp::DynamicValue::LIST:
      for (auto element : value.as<capnp::DynamicList>()) walk_value(element);
      break;
    case capnp::DynamicValue::ENUM:
      base::require(value.as<capnp::DynamicEnum>().getEnumerant() != nullptr,
              "unknown enumerant " + std::to_string(value.as<capnp::DynamicEnum>().getRaw()));
      break;
    default:  // scalars, text and data were bounds-checked by get()
      break;
  }
}

std::string_view tag_name(proto::Message::Which which) {
  switch (which) {
    case proto::Message::REQUEST: return "request";
    case proto::Message::PROGRESS: return "progress";
    case proto::Message::LOG: return "log";
    case proto::Message::RESULT: return "result";
    case proto::Message::ERROR: return "error";
    case proto::Message::CANCEL: return "cancel";
  }
  return "unknown";
}

std::uint32_t read_le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

// Checks a frame length before anything is allocated for it.
void check_length(std::uint32_t length, const FrameLimits& limits) {
  base::require(length >= 2 * sizeof(capnp::word) && length % sizeof(capnp::word) == 0,
          "Failed to decode stage message: invalid frame length " + std::to_string(length));
  base::require(length <= limits.max_frame_bytes,
          "Failed to decode stage message: frame of " + std::to_string(length) +
              " bytes exceeds the limit of " + std::to_string(limits.max_frame_bytes));
}

// Waits until `fd` is readable or the receive timeout passes.
void wait_readable(int fd, const FrameLimits& limits) {
  if (limits.receive_timeout_ms < 0) return;
  pollfd p{fd, POLLIN, 0};
  int rc;
  do rc = ::poll(&p, 1, limits.receive_timeout_ms);
  while (rc < 0 && errno == EINTR);
  base::check_syscall(rc, "poll stage socket");
  base::require(rc > 0, "Failed to receive stage message: timed out after " +
                      std::to_string(limits.receive_timeout_ms) + " ms");
}

// recvmsg for the first header byte(s), collecting SCM_RIGHTS fds.
std::size_t receive_header_start(int fd, std::uint8_t* header, const FrameLimits& limits,
                                 std::vector<base::UniqueFd>& fds) {
  std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<std::size_t>(limits.max_fds, 1)));
  iovec iov{header, kFrameHeaderBytes};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  wait_readable(fd, limits);
  ssize_t n;
  do n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  base::check_syscall(n, "receive from stage socket");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.emplace_back(received);  // owned at once, so closed on any throw below
    }
  }
  base::require((msg.msg_flags & MSG_CTRUNC) == 0,
          "Failed to receive stage message: more than " + std::to_string(limits.max_fds) +
              " fds attached");
  base::require(fds.size() <= limits.max_fds, "Failed to receive stage message: too many fds");
  return static_cast<std::size_t>(n);
}

// Reads exactly `size` bytes; false on EOF before the first byte.
bool read_exact(int fd, std::uint8_t* data, std::size_t size, const FrameLimits& limits) {
  std::size_t got = 0;
  while (got < size) {
    wait_readable(fd, limits);
    const ssize_t n = ::recv(fd, data + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "receive from stage socket");
    if (n == 0) {
      base::require(got == 0, "Failed to receive stage message: truncated frame (" +
                            std::to_string(got) + " of " + std::to_string(size) + " bytes)");
      return false;
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

void send_all(int fd, const std::uint8_t* data, std::size_t size, std::span<const int> fds) {
  std::vector<char> control;
  std::size_t sent = 0;
  while (sent < size) {
    iovec iov{const_cast<std::uint8_t*>(data + sent), size - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (sent == 0 && !fds.empty()) {
      control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      throw base::Error(base::ErrorKind::kDisconnected, "Failed to send stage message: the peer closed the socket")
          .with_errno(errno);
    }
    base::check_syscall(n, "send on stage socket");
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace

Frame::Frame(kj::Array<capnp::word> words, std::unique_ptr<capnp::FlatArrayMessageReader> reader)
    : words_(std::move(words)), reader_(std::move(reader)) {}

Frame Frame::decode(kj::Array<capnp::word> words, const FrameLimits& limits) {
  base::require(words.size() * sizeof(capnp::word) <= limits.max_frame_bytes,
          "Failed to decode stage message: frame exceeds the size limit");
  capnp::ReaderOptions options;
  options.nestingLimit = limits.nesting_limit;
  options.traversalLimitInWords =
      std::max<std::uint64_t>(limits.min_traversal_words, limits.traversal_factor * words.size());
  try {
    auto reader = std::make_unique<capnp::FlatArrayMessageReader>(words.asPtr(), options);
    base::require(reader->getEnd() == words.end(),
            "Failed to decode stage message: trailing bytes after the message");
    walk_struct(capnp::toDynamic(reader->getRoot<proto::Message>()));
    return Frame(std::move(words), std::move(reader));
  } catch (const kj::Exception& e) {
    base::fail(base::ErrorKind::kInvalidInput,
         std::string("Failed to decode stage message: ") + e.getDescription().cStr());
  } catch (base::Error& e) {
    if (e.message().starts_with("Failed to")) throw;
    base::fail(base::ErrorKind::kInvalidInput, "Failed to decode stage message: " + e.message());
  }
}

proto::Message::Reader Frame::message() const {
  return reader_->getRoot<proto::Message>();
}

std::vector<std::uint8_t> encode_frame(capnp::MessageBuilder& builder, const FrameLimits& limits) {
  const auto words = capnp::messageToFlatArray(builder);
  const auto bytes = words.asBytes();
  base::check(bytes.size() <= limits.max_frame_bytes,
        "Failed to encode stage message: " + std::to_string(bytes.size()) +
            " bytes exceed the frame limit of " + std::to_string(limits.max_frame_bytes));
  std::vector<std::uint8_t> frame(kFrameHeaderBytes + bytes.size());
  const auto length = static_cast<std::uint32_t>(bytes.size());
  for (std::size_t i = 0; i < kFrameHeaderBytes; ++i) frame[i] = (length >> (8 * i)) & 0xff;
  std::memcpy(frame.data() + kFrameHeaderBytes, bytes.begin(), bytes.size());
  return frame;
}

void send_message(int socket_fd, capnp::MessageBuilder& builder, std::span<const int> fds,
                  const FrameLimits& limits) {
  base::check(fds.size() <= limits.max_fds, "Failed to send stage message: too many fds attached");
  for (std::size_t slot = 0; slot < fds.size(); ++slot) require_passable_fd(fds[slot], slot, "send");
  const auto frame = encode_frame(builder, limits);
  send_all(socket_fd, frame.data(), frame.size(), fds);
}

ReceivedMessage receive_message(int socket_fd, const FrameLimits& limits) {
  std::vector<base::UniqueFd> fds;
  std::uint8_t header[kFrameHeaderBytes];
  const std::size_t first = receive_header_start(socket_fd, header, limits, fds);
  if (first == 0) {
    throw base::Error(base::ErrorKind::kDisconnected,
                "Failed to receive stage message: the peer closed the socket");
  }
  const bool whole = read_exact(socket_fd, header + first, kFrameHeaderBytes - first, limits);
  base::require(whole || first == kFrameHeaderBytes, "Failed to receive stage message: truncated frame");
  const std::uint32_t length = read_le32(header);
  check_length(length, limits);
  auto body = kj::heapArray<capnp::word>(length / sizeof(capnp::word));
  base::require(read_exact(socket_fd, body.asBytes().begin(), length, limits),
          "Failed to receive stage message: truncated frame (0 of " + std::to_string(length) +
              " bytes)");
  for (std::size_t slot = 0; slot < fds.size(); ++slot) require_passable_fd(fds[slot].get(), slot, "receive");
  return ReceivedMessage{Frame::decode(std::move(body), limits), std::move(fds)};
}

std::vector<Frame> FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  base::require(!failed_, "Failed to decode stage message: the stream is out of sync after an error");
  failed_ = true;  // cleared only if this call completes
  std::vector<Frame> frames;
  while (!bytes.empty()) {
    if (header_filled_ < kFrameHeaderBytes) {
      const std::size_t n = std::min(bytes.size(), kFrameHeaderBytes - header_filled_);
      std::memcpy(header_ + header_filled_, bytes.data(), n);
      header_filled_ += n;
      bytes = bytes.subspan(n);
      if (header_filled_ == kFrameHeaderBytes) start_body();
      continue;
    }
    auto target = body_.asBytes();
    const std::size_t n = std::min(bytes.size(), target.size() - body_filled_);
    std::memcpy(target.begin() + body_filled_, bytes.data(), n);
    body_filled_ += n;
    bytes = bytes.subspan(n);
    if (body_filled_ == target.size()) {
      frames.push_back(Frame::decode(std::move(body_), limits_));
      body_ = nullptr;
      body_filled_ = 0;
      header_filled_ = 0;
    }
  }
  failed_ = false;
  return frames;
}

void FrameDecoder::start_body() {
  const std::uint32_t length = read_le32(header_);
  check_length(length, limits_);
  body_ = kj::heapArray<capnp::word>(length / sizeof(capnp::word));
  body_filled_ = 0;
}

void FrameDecoder::finish() const {
  base::require(idle(), "Failed to receive stage message: stream ended inside a frame");
}

Phase validate_message(proto::Message::Reader message, Phase phase, proto::StageKind stage,
                       std::size_t fd_count) {
  const bool from_stage = phase == Phase::kSupervisorRunning || phase == Phase::kSupervisorFinished;
  const base::ErrorKind kind = from_stage ? base::ErrorKind::kSandboxViolation : base::ErrorKind::kInvalidInput;
  const auto which = message.which();
  const std::string what = "stage message '" + std::string(tag_name(which)) + "'";
  auto refuse = [kind](const std::string& why) { base::fail(kind, "Refused " + why); };

  switch (phase) {
    case Phase::kStageAwaitingRequest: {
      if (which != proto::Message::REQUEST) refuse(what + ": expected a request");
      const auto request = message.getRequest();
      if (request_kind(request) != stage) {
        refuse(what + ": not a request for the " + std::string(to_string(stage)) + " stage");
      }
      if (request.getFdCount() != fd_count) {
        refuse(what + ": " + std::to_string(fd_count) + " fds attached, fdCount says " +
               std::to_string(request.getFdCount()));
      }
      return Phase::kStageRunning;
    }
    case Phase::kStageRunning:
      if (which != proto::Message::CANCEL) refuse(what + ": only cancel may follow a request");
      if (fd_count != 0) refuse(what + ": unexpected fds attached");
      return Phase::kStageCancelled;
    case Phase::kSupervisorRunning:
      if (fd_count != 0) refuse(what + ": a stage may not pass fds");
      switch (which) {
        case proto::Message::PROGRESS:
          if (message.getProgress().getStage() != stage) refuse(what + ": progress for another stage");
          return phase;
        case proto::Message::LOG:
          return phase;
        case proto::Message::RESULT:
          if (result_kind(message.getResult()) != stage) {
            refuse(what + ": not a result of the " + std::string(to_string(stage)) + " stage");
          }
          return Phase::kSupervisorFinished;
        case proto::Message::ERROR:
          return Phase::kSupervisorFinished;
        case proto::Message::REQUEST:
        case proto::Message::CANCEL:
          break;
      }
      refuse(what + ": not permitted from a stage");
      break;
    case Phase::kStageCancelled:
    case Phase::kSupervisorFinished:
      refuse(what + ": the exchange is already finished");
  }
  refuse(what + ": unknown phase");
  return phase;  // not reached
}

}  // namespace ipc
