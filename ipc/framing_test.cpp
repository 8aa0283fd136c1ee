#include "ipc/framing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <capnp/serialize-text.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "base/error.hpp"
#include "ipc/stage_kind.hpp"
#include "ipc/test_messages.hpp"

namespace ipc {
namespace {

using proto::StageKind;
using base::UniqueFd;

struct SocketPair {
  base::UniqueFd a, b;
  SocketPair() {
    int fds[2];
    base::check_syscall(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), "socketpair");
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

std::string to_text(proto::Message::Reader message) { return capnp::TextCodec().encode(message).cStr(); }

void write_all(int fd, const std::vector<std::uint8_t>& bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

std::vector<std::uint8_t> le32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)};
}

std::vector<std::uint8_t> frame_of(const std::function<void(proto::Message::Builder)>& fill) {
  capnp::MallocMessageBuilder builder;
  fill(builder.initRoot<proto::Message>());
  return encode_frame(builder);
}

std::size_t open_fd_count() {
  std::size_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  while (::readdir(dir) != nullptr) ++n;
  ::closedir(dir);
  return n;
}

TEST(Framing, RoundTripsEveryMessageKindOverASocketpair) {
  std::vector<std::function<void(proto::Message::Builder)>> fills = {
      testing::fill_log, testing::fill_error, testing::fill_cancel};
  for (auto kind : kAllStageKinds) {
    fills.push_back([kind](proto::Message::Builder m) { testing::fill_request(m, kind); });
    fills.push_back([kind](proto::Message::Builder m) { testing::fill_result(m, kind); });
    fills.push_back([kind](proto::Message::Builder m) { testing::fill_progress(m, kind); });
  }
  SocketPair sp;
  for (const auto& fill : fills) {
    capnp::MallocMessageBuilder builder;
    fill(builder.initRoot<proto::Message>());
    send_message(sp.a.get(), builder);
    const auto received = receive_message(sp.b.get());
    EXPECT_EQ(to_text(received.message()), to_text(builder.getRoot<proto::Message>().asReader()));
    EXPECT_TRUE(received.fds.empty());
  }
}

TEST(Framing, PassesAPipeFdThatWorksOnTheOtherSide) {
  SocketPair sp;
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  base::UniqueFd read_end(pipe_fds[0]);
  base::UniqueFd write_end(pipe_fds[1]);
  capnp::MallocMessageBuilder builder;
  testing::fill_request(builder.initRoot<proto::Message>(), StageKind::FETCHER, 1);
  const int to_pass[] = {write_end.get()};
  send_message(sp.a.get(), builder, to_pass);
  write_end.reset();

  auto received = receive_message(sp.b.get());
  ASSERT_EQ(received.fds.size(), 1u);
  EXPECT_EQ(validate_message(received.message(), Phase::kStageAwaitingRequest, StageKind::FETCHER, 1),
            Phase::kStageRunning);
  EXPECT_NE(::fcntl(received.fds[0].get(), F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_EQ(::write(received.fds[0].get(), "hello", 5), 5);
  received.fds.clear();
  char buf[8] = {};
  EXPECT_EQ(::read(read_end.get(), buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "hello");
}

TEST(Framing, RejectsMoreFdsThanTheLimitAndLeaksNone) {
  SocketPair sp;
  FrameLimits limits;
  limits.max_fds = 2;
  const std::vector<int> fds(5, sp.a.get());
  capnp::MallocMessageBuilder builder;
  testing::fill_log(builder.initRoot<proto::Message>());
  send_message(sp.a.get(), builder, fds);
  const std::size_t before = open_fd_count();
  try {
    receive_message(sp.b.get(), limits);
    FAIL() << "expected an Error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find("fds"), std::string::npos) << e.message();
  }
  EXPECT_EQ(open_fd_count(), before);
}

// A directory fd is a handle on the sender's mount namespace: from it ".."
// climbs out of any root the receiver lives in.
TEST(Framing, RefusesToSendADirectoryFd) {
  SocketPair sp;
  base::UniqueFd dir(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  capnp::MallocMessageBuilder builder;
  testing::fill_request(builder.initRoot<proto::Message>(), StageKind::FETCHER, 1);
  const int to_pass[] = {dir.get()};
  try {
    send_message(sp.a.get(), builder, to_pass);
    FAIL() << "expected an Error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kSandboxViolation);
    EXPECT_NE(e.message().find("it is a directory"), std::string::npos) << e.message();
  }
}

TEST(Framing, RefusesAReceivedDirectoryFdAndClosesIt) {
  SocketPair sp;
  capnp::MallocMessageBuilder builder;
  testing::fill_request(builder.initRoot<proto::Message>(), StageKind::FETCHER, 1);
  std::vector<std::uint8_t> frame = encode_frame(builder);
  base::UniqueFd dir(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  // Sent by hand, as a peer that does not check would send it.
  iovec iov{frame.data(), frame.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  const int raw = dir.get();
  std::memcpy(CMSG_DATA(cmsg), &raw, sizeof raw);
  ASSERT_EQ(::sendmsg(sp.a.get(), &msg, 0), static_cast<ssize_t>(frame.size()));
  dir.reset();
  const std::size_t before = open_fd_count();
  try {
    receive_message(sp.b.get());
    FAIL() << "expected an Error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kSandboxViolation);
  }
  EXPECT_EQ(open_fd_count(), before);
}

TEST(Framing, CleanEofBeforeAFrameIsDisconnected) {
  SocketPair sp;
  sp.a.reset();
  try {
    receive_message(sp.b.get());
    FAIL() << "expected an Error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kDisconnected);
  }
}

// A chain of struct pointers, each pointing at the next word: as deep as `depth`.
std::vector<std::uint8_t> deep_frame(std::uint32_t depth) {
  std::vector<std::uint8_t> body = le32(0);  // one segment
  const auto size = le32(depth + 1);
  body.insert(body.end(), size.begin(), size.end());
  for (std::uint32_t i = 0; i < depth; ++i) {
    const std::uint64_t pointer = std::uint64_t{1} << 48;  // struct, offset 0, 0 data, 1 pointer
    for (int b = 0; b < 8; ++b) body.push_back(static_cast<std::uint8_t>(pointer >> (8 * b)));
  }
  body.insert(body.end(), 8, 0);
  auto frame = le32(static_cast<std::uint32_t>(body.size()));
  frame.insert(frame.end(), body.begin(), body.end());
  return frame;
}

std::vector<std::uint8_t> with_union_tag(std::uint16_t tag) {
  auto frame = frame_of(testing::fill_log);
  // header(4) + segment table(8) + root pointer(8): the discriminant starts the data section.
  frame[20] = static_cast<std::uint8_t>(tag);
  frame[21] = static_cast<std::uint8_t>(tag >> 8);
  return frame;
}

TEST(Framing, RejectsMalformedFramesWithTypedErrors) {
  struct Case {
    const char* name;
    std::vector<std::uint8_t> bytes;
    const char* expected;
  };
  std::mt19937 rng(7);
  std::vector<std::uint8_t> garbage = le32(64);
  for (int i = 0; i < 64; ++i) garbage.push_back(static_cast<std::uint8_t>(rng()));
  auto trailing = frame_of(testing::fill_log);
  trailing.insert(trailing.end(), 8, 0);
  const std::uint32_t new_length = static_cast<std::uint32_t>(trailing.size() - 4);
  std::memcpy(trailing.data(), le32(new_length).data(), 4);
  const auto whole = frame_of(testing::fill_log);
  const std::vector<std::uint8_t> truncated(whole.begin(), whole.end() - 5);

  const Case cases[] = {
      // The length is checked before anything is allocated.
      {"oversized", le32((64u << 20) + 8), "exceeds the limit"},
      // Flat arrays are whole words.
      {"odd length", le32(13), "invalid frame length"},
      {"empty frame", le32(0), "invalid frame length"},
      // The writer closed mid-header and mid-body.
      {"truncated header", {0x10, 0x00}, "truncated"},
      {"truncated body", truncated, "truncated"},
      // A segment table that makes no sense.
      {"garbage", garbage, "Failed to decode"},
      // Pointers nested past the schema's depth.
      {"too deep", deep_frame(200), "Failed to decode"},
      // Union member 9 does not exist in Message.
      {"unknown union tag", with_union_tag(9), "unknown union member"},
      // Bytes after the message proper are not ignored.
      {"trailing words", trailing, "trailing"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    SocketPair sp;
    write_all(sp.a.get(), c.bytes);
    sp.a.reset();
    try {
      receive_message(sp.b.get());
      ADD_FAILURE() << "expected an Error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expected), std::string::npos) << e.what();
    }
  }
}

TEST(Framing, EnforcesTheNestingLimit) {
  FrameLimits limits;
  limits.nesting_limit = 3;  // the installer request nests deeper than that
  auto frame = frame_of([](proto::Message::Builder m) { testing::fill_request(m, StageKind::INSTALLER); });
  FrameDecoder decoder(limits);
  try {
    decoder.feed(frame);
    FAIL() << "expected an Error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("nested"), std::string::npos) << e.what();
  }
}

TEST(Framing, TimesOutOnAPeerThatStopsMidFrame) {
  SocketPair sp;
  FrameLimits limits;
  limits.receive_timeout_ms = 50;
  write_all(sp.a.get(), le32(64));
  EXPECT_THROW(receive_message(sp.b.get(), limits), base::Error);
}

TEST(FrameDecoder, DecodesFramesSplitAtEveryPossibleBoundary) {
  std::vector<std::uint8_t> stream;
  const auto frames = testing::all_sample_frames();
  for (const auto& f : frames) stream.insert(stream.end(), f.begin(), f.end());
  for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{4096}}) {
    SCOPED_TRACE(chunk);
    FrameDecoder decoder;
    std::size_t decoded = 0;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      const auto n = std::min(chunk, stream.size() - at);
      decoded += decoder.feed(std::span(stream).subspan(at, n)).size();
    }
    EXPECT_EQ(decoded, frames.size());
    EXPECT_TRUE(decoder.idle());
    EXPECT_NO_THROW(decoder.finish());
  }
}

TEST(FrameDecoder, RefusesInputAfterAnErrorAndReportsTruncationAtEof) {
  FrameDecoder decoder;
  EXPECT_THROW(decoder.feed(le32(0xffffffffu)), base::Error);
  EXPECT_THROW(decoder.feed(frame_of(testing::fill_log)), base::Error);

  FrameDecoder partial;
  auto frame = frame_of(testing::fill_log);
  frame.pop_back();
  EXPECT_TRUE(partial.feed(frame).empty());
  EXPECT_THROW(partial.finish(), base::Error);
}

struct PhaseCase {
  const char* name;
  std::function<void(proto::Message::Builder)> fill;
  Phase phase;
  std::size_t fds;
  base::ErrorKind expected;  // kFailed here means "accepted"
};

TEST(ValidateMessage, AcceptsOnlyWhatThePhasePermits) {
  const auto fetcher = StageKind::FETCHER;
  const PhaseCase cases[] = {
      // The normal exchange, seen from both ends.
      {"request", [](auto m) { testing::fill_request(m, StageKind::FETCHER, 1); },
       Phase::kStageAwaitingRequest, 1, base::ErrorKind::kFailed},
      {"progress", [](auto m) { testing::fill_progress(m, StageKind::FETCHER); },
       Phase::kSupervisorRunning, 0, base::ErrorKind::kFailed},
      {"log", testing::fill_log, Phase::kSupervisorRunning, 0, base::ErrorKind::kFailed},
      {"result", [](auto m) { testing::fill_result(m, StageKind::FETCHER); },
       Phase::kSupervisorRunning, 0, base::ErrorKind::kFailed},
      {"error", testing::fill_error, Phase::kSupervisorRunning, 0, base::ErrorKind::kFailed},
      {"cancel", testing::fill_cancel, Phase::kStageRunning, 0, base::ErrorKind::kFailed},
      // A stage never sends requests or cancels.
      {"request from a stage", [](auto m) { testing::fill_request(m, StageKind::FETCHER); },
       Phase::kSupervisorRunning, 0, base::ErrorKind::kSandboxViolation},
      {"cancel from a stage", testing::fill_cancel, Phase::kSupervisorRunning, 0,
       base::ErrorKind::kSandboxViolation},
      // A result must be for the stage that was asked.
      {"result of another stage", [](auto m) { testing::fill_result(m, StageKind::VERIFIER); },
       Phase::kSupervisorRunning, 0, base::ErrorKind::kSandboxViolation},
      {"progress of another stage", [](auto m) { testing::fill_progress(m, StageKind::VERIFIER); },
       Phase::kSupervisorRunning, 0, base::ErrorKind::kSandboxViolation},
      // Exactly one result or error: nothing after it.
      {"second result", [](auto m) { testing::fill_result(m, StageKind::FETCHER); },
       Phase::kSupervisorFinished, 0, base::ErrorKind::kSandboxViolation},
      {"log after error", testing::fill_log, Phase::kSupervisorFinished, 0, base::ErrorKind::kSandboxViolation},
      // Stages cannot hand fds to the supervisor.
      {"fds on a log line", testing::fill_log, Phase::kSupervisorRunning, 1,
       base::ErrorKind::kSandboxViolation},
      // The stage side refuses what the supervisor should not send.
      {"request for another stage", [](auto m) { testing::fill_request(m, StageKind::VERIFIER); },
       Phase::kStageAwaitingRequest, 0, base::ErrorKind::kInvalidInput},
      {"fds attached when none expected", [](auto m) { testing::fill_request(m, StageKind::FETCHER, 0); },
       Phase::kStageAwaitingRequest, 2, base::ErrorKind::kInvalidInput},
      {"log before the request", testing::fill_log, Phase::kStageAwaitingRequest, 0,
       base::ErrorKind::kInvalidInput},
      {"second request", [](auto m) { testing::fill_request(m, StageKind::FETCHER); },
       Phase::kStageRunning, 0, base::ErrorKind::kInvalidInput},
      {"second cancel", testing::fill_cancel, Phase::kStageCancelled, 0, base::ErrorKind::kInvalidInput},
      {"fds on a cancel", testing::fill_cancel, Phase::kStageRunning, 1, base::ErrorKind::kInvalidInput},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    capnp::MallocMessageBuilder builder;
    c.fill(builder.initRoot<proto::Message>());
    const auto message = builder.getRoot<proto::Message>().asReader();
    if (c.expected == base::ErrorKind::kFailed) {
      EXPECT_NO_THROW(validate_message(message, c.phase, fetcher, c.fds));
      continue;
    }
    try {
      validate_message(message, c.phase, fetcher, c.fds);
      ADD_FAILURE() << "expected an Error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), c.expected) << e.what();
      EXPECT_NE(e.message().find("Refused stage message"), std::string::npos) << e.what();
    }
  }
}

TEST(ValidateMessage, FinishesAfterTheResult) {
  capnp::MallocMessageBuilder progress, result;
  testing::fill_progress(progress.initRoot<proto::Message>(), StageKind::RESOLVER);
  testing::fill_result(result.initRoot<proto::Message>(), StageKind::RESOLVER);
  Phase phase = Phase::kSupervisorRunning;
  phase = validate_message(progress.getRoot<proto::Message>(), phase, StageKind::RESOLVER, 0);
  EXPECT_EQ(phase, Phase::kSupervisorRunning);
  phase = validate_message(result.getRoot<proto::Message>(), phase, StageKind::RESOLVER, 0);
  EXPECT_EQ(phase, Phase::kSupervisorFinished);
}

}  // namespace
}  // namespace ipc
