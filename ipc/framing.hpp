// Frames on the stage socket: a 4-byte little-endian body length, then one
// Cap'n Proto message as a flat array (segment table + segments). Fds travel
// with SCM_RIGHTS on the first byte of the length field.
//
// Everything received is treated as hostile: the length is checked before any
// allocation, the message is walked completely against the schema under
// ReaderOptions limits before a Frame exists, and validate_message() checks
// that the message may arrive in the current phase. Any failure is an
// base::Error (see docs/stage-protocol.md), never a crash or a hang.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ipc/stage.capnp.h"
#include "base/unique_fd.hpp"

namespace ipc {

struct FrameLimits {
  std::size_t max_frame_bytes = std::size_t{64} << 20;
  std::size_t max_fds = 32;  // the kernel allows 253 per message; larger sets travel as paths
  // The schema nests at most 6 structs/lists deep; leave room to grow.
  int nesting_limit = 24;
  // Traversal limit = max(min, factor * message words): generous enough for
  // stage code that reads a field more than once, bounded against messages
  // whose pointers alias one another.
  std::uint64_t min_traversal_words = std::uint64_t{8} << 20;
  std::uint64_t traversal_factor = 8;
  // Blocking receives give up after this long without data; -1 = wait forever.
  int receive_timeout_ms = -1;
};

// Bytes of the length prefix.
inline constexpr std::size_t kFrameHeaderBytes = 4;

// One received message, checked against the schema. Owns its words.
class Frame {
 public:
  // Throws base::Error (kInvalidInput) if `words` is not one well-formed Message.
  static Frame decode(kj::Array<capnp::word> words, const FrameLimits& limits = {});

  proto::Message::Reader message() const;
  std::size_t size_bytes() const { return words_.size() * sizeof(capnp::word); }

 private:
  Frame(kj::Array<capnp::word> words, std::unique_ptr<capnp::FlatArrayMessageReader> reader);

  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// A frame and the fds that came with it (close-on-exec, owned).
struct ReceivedMessage {
  Frame frame;
  std::vector<base::UniqueFd> fds;

  proto::Message::Reader message() const { return frame.message(); }
};

// Header + body of `builder`, ready to write to a socket (for Asio writers).
std::vector<std::uint8_t> encode_frame(capnp::MessageBuilder& builder,
                                       const FrameLimits& limits = {});

// Blocking send; `fds` are duplicated into the peer by the kernel and stay
// open here. Throws kDisconnected if the peer is gone.
void send_message(int socket_fd, capnp::MessageBuilder& builder, std::span<const int> fds = {},
                  const FrameLimits& limits = {});

// Blocking receive of one frame. Clean EOF before a frame → kDisconnected;
// EOF inside a frame, bad length, too many fds → kInvalidInput.
ReceivedMessage receive_message(int socket_fd, const FrameLimits& limits = {});

// Incremental decoder for a byte stream read asynchronously (no fds). After
// it throws, the stream is out of sync and the decoder refuses further input.
class FrameDecoder {
 public:
  explicit FrameDecoder(FrameLimits limits = {}) : limits_(limits) {}

  std::vector<Frame> feed(std::span<const std::uint8_t> bytes);
  // True when no partial frame is buffered. At EOF, false means truncation.
  bool idle() const { return header_filled_ == 0 && body_ == nullptr; }
  // Call at EOF: throws kInvalidInput if a frame was cut short.
  void finish() const;

 private:
  void start_body();

  FrameLimits limits_;
  std::uint8_t header_[kFrameHeaderBytes] = {};
  std::size_t header_filled_ = 0;
  kj::Array<capnp::word> body_;
  std::size_t body_filled_ = 0;  // bytes
  bool failed_ = false;
};

// Who may send what, and when (openssh monitor_permit style).
enum class Phase {
  kStageAwaitingRequest,  // stage side: only a request (with exactly its fdCount fds)
  kStageRunning,          // stage side: only cancel
  kStageCancelled,        // stage side after cancel: nothing
  kSupervisorRunning,     // supervisor side: progress, log, then one result or error
  kSupervisorFinished,    // supervisor side after the result or error: nothing
};

// Throws unless `message` (with `fd_count` fds attached) may arrive in `phase`
// for a stage of kind `stage`; returns the phase after it. Violations seen by
// the supervisor are kSandboxViolation (the stage is untrusted); violations
// seen by a stage are kInvalidInput.
Phase validate_message(proto::Message::Reader message, Phase phase, proto::StageKind stage,
                       std::size_t fd_count);

}  // namespace ipc
