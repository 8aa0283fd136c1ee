#include "ipc/stage_main.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "ipc/error_codec.hpp"
#include "ipc/stage_kind.hpp"
#include "ipc/test_messages.hpp"

namespace ipc {
namespace {

using proto::StageKind;
using base::UniqueFd;

// The supervisor's end of one stage run, with the harness on a thread.
class HarnessRun {
 public:
  HarnessRun(StageKind kind, Handler handler) {
    int fds[2];
    base::check_syscall(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), "socketpair");
    supervisor_.reset(fds[0]);
    stage_.reset(fds[1]);
    exit_code_ = std::async(std::launch::async, [this, kind, handler = std::move(handler)] {
      return serve_stage_request(stage_.get(), kind, handler);
    });
  }

  void send(capnp::MessageBuilder& message, std::span<const int> fds = {}) {
    send_message(supervisor_.get(), message, fds);
  }

  // Receives until the result or error, checking each message's phase.
  std::vector<ReceivedMessage> receive_all(StageKind kind) {
    std::vector<ReceivedMessage> messages;
    Phase phase = Phase::kSupervisorRunning;
    while (phase != Phase::kSupervisorFinished) {
      messages.push_back(receive_message(supervisor_.get()));
      phase = validate_message(messages.back().message(), phase, kind, messages.back().fds.size());
    }
    return messages;
  }

  int exit_code() { return exit_code_.get(); }

 private:
  base::UniqueFd supervisor_;
  base::UniqueFd stage_;
  std::future<int> exit_code_;
};

TEST(StageHarness, SendsProgressLogAndTheResultOfAGoodRequest) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  base::UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);

  HarnessRun run(StageKind::FETCHER, [](proto::StageRequest::Reader request, StageContext& ctx,
                                        proto::StageResult::Builder result) {
    auto out = ctx.open(request.getFetcher().getOutputDir(), O_WRONLY, "output");
    ASSERT_EQ(::write(out.get(), "data", 4), 4);
    ctx.progress({.phase = "download", .done = 1, .total = 1, .item = "bash"});
    ctx.log(LogLevel::kInfo, "fetched bash");
    result.initFetcher().setBytesTotal(4);
  });
  capnp::MallocMessageBuilder request;
  testing::fill_request(request.initRoot<proto::Message>(), StageKind::FETCHER, 1);
  const int pass[] = {write_end.get()};
  run.send(request, pass);
  write_end.reset();

  const auto messages = run.receive_all(StageKind::FETCHER);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].message().getProgress().getItem(), "bash");
  EXPECT_EQ(messages[1].message().getLog().getText(), "fetched bash");
  EXPECT_EQ(messages[2].message().getResult().getFetcher().getBytesTotal(), 4u);
  EXPECT_EQ(run.exit_code(), 0);
  char buf[8] = {};
  EXPECT_EQ(::read(read_end.get(), buf, sizeof buf), 4);
}

TEST(StageHarness, SendsTheEncodedErrorWhenTheHandlerThrows) {
  HarnessRun run(StageKind::INSTALLER, [](auto, StageContext&, auto) {
    base::ErrorContext ctx{"installing", "bash"};
    throw base::Error(base::ErrorKind::kFailed, "Failed to unpack 'bash.deb': truncated").with_hint("re-fetch it");
  });
  capnp::MallocMessageBuilder request;
  testing::fill_request(request.initRoot<proto::Message>(), StageKind::INSTALLER);
  run.send(request);
  const auto messages = run.receive_all(StageKind::INSTALLER);
  ASSERT_EQ(messages.back().message().which(), proto::Message::ERROR);
  const base::Error error = decode_error(messages.back().message().getError(), "installer");
  EXPECT_EQ(error.kind(), base::ErrorKind::kFailed);
  EXPECT_EQ(error.context(), std::vector<std::string>{"installing bash"});
  EXPECT_EQ(error.hint(), "re-fetch it");
  EXPECT_EQ(run.exit_code(), 1);
}

TEST(StageHarness, ReportsFailuresOutsideTheHandlerAsTypedErrors) {
  struct Case {
    const char* name;
    StageKind request_kind;
    Handler handler;
    base::ErrorKind expected;
    const char* substring;
  };
  const Case cases[] = {
      // The supervisor asked the wrong binary: the handler must not run.
      {"request for another stage", StageKind::VERIFIER,
       [](auto, auto&, auto) { FAIL() << "handler ran"; }, base::ErrorKind::kInvalidInput,
       "not a request for the resolver stage"},
      // Exceptions that are not base::Error still arrive as a structured error.
      {"std exception", StageKind::RESOLVER,
       [](auto, auto&, auto) { throw std::runtime_error("vector too long"); }, base::ErrorKind::kFailed,
       "vector too long"},
      // A handler that forgets its result is a bug in the stage.
      {"no result", StageKind::RESOLVER, [](auto, auto&, auto) {}, base::ErrorKind::kFailed,
       "did not produce a resolver result"},
      // Slots refer to fds that came with the request, nothing else.
      {"missing fd slot", StageKind::RESOLVER,
       [](auto request, StageContext& ctx, auto) {
         capnp::MallocMessageBuilder b;
         auto ref = b.initRoot<proto::FdRef>();
         ref.setSlot(3);
         ctx.open(ref.asReader(), O_RDONLY, "Packages index");
         (void)request;
       },
       base::ErrorKind::kInvalidInput, "fd slot 3 was not passed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HarnessRun run(StageKind::RESOLVER, c.handler);
    capnp::MallocMessageBuilder request;
    testing::fill_request(request.initRoot<proto::Message>(), c.request_kind);
    run.send(request);
    const auto messages = run.receive_all(StageKind::RESOLVER);
    ASSERT_EQ(messages.back().message().which(), proto::Message::ERROR);
    const base::Error error = decode_error(messages.back().message().getError(), "resolver");
    EXPECT_EQ(error.kind(), c.expected) << error.what();
    EXPECT_NE(error.message().find(c.substring), std::string::npos) << error.what();
    EXPECT_EQ(run.exit_code(), 1);
  }
}

TEST(StageHarness, HandlerSeesCancellation) {
  HarnessRun run(StageKind::DISKMAKER, [](auto, StageContext& ctx, auto) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!ctx.cancelled() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ctx.check_cancelled();
  });
  capnp::MallocMessageBuilder request, cancel;
  testing::fill_request(request.initRoot<proto::Message>(), StageKind::DISKMAKER);
  testing::fill_cancel(cancel.initRoot<proto::Message>());
  run.send(request);
  run.send(cancel);
  const auto messages = run.receive_all(StageKind::DISKMAKER);
  const base::Error error = decode_error(messages.back().message().getError(), "diskmaker");
  EXPECT_NE(error.message().find("Cancelled by the supervisor: user interrupt"), std::string::npos)
      << error.what();
  EXPECT_EQ(run.exit_code(), 1);
}

TEST(StageHarness, RejectsBadArguments) {
  const char* argv[] = {"stage-verifier", "--sockets", "3", nullptr};
  EXPECT_EQ(run_stage(3, const_cast<char**>(argv), StageKind::VERIFIER, [](auto, auto&, auto) {}), 1);
  const char* argv2[] = {"stage-verifier", "--socket", "x3", nullptr};
  EXPECT_EQ(run_stage(3, const_cast<char**>(argv2), StageKind::VERIFIER, [](auto, auto&, auto) {}), 1);
}

TEST(StageHarness, CallsTheEarlyInitHookWithTheSocketFd) {
  static std::atomic<int> seen{-1};
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  base::UniqueFd supervisor(fds[0]), stage(fds[1]);
  supervisor.reset();  // the harness then fails fast: nobody is there
  const std::string fd = std::to_string(stage.get());
  const char* argv[] = {"stage-verifier", "--socket", fd.c_str(), nullptr};
  EXPECT_EQ(run_stage(3, const_cast<char**>(argv), StageKind::VERIFIER, [](auto, auto&, auto) {},
                      [](int socket_fd) { seen = socket_fd; }),
            1);
  EXPECT_EQ(seen, stage.get());
}

}  // namespace
}  // namespace ipc
