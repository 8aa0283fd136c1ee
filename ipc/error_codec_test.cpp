#include "ipc/error_codec.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace ipc {
namespace {

base::Error round_trip(const base::Error& error, std::string_view stage = "fetcher") {
  capnp::MallocMessageBuilder builder;
  auto wire = builder.initRoot<proto::Error>();
  encode_error(error, wire);
  return decode_error(wire.asReader(), stage);
}

TEST(ErrorCodec, RoundTripsEveryKind) {
  for (auto kind : {base::ErrorKind::kFailed, base::ErrorKind::kInvalidInput, base::ErrorKind::kOverloaded,
                    base::ErrorKind::kDisconnected, base::ErrorKind::kUnimplemented,
                    base::ErrorKind::kSandboxViolation}) {
    SCOPED_TRACE(to_string(kind));
    const base::Error decoded = round_trip(base::Error(kind, "Failed to open 'x': nope"));
    EXPECT_EQ(decoded.kind(), kind);
    EXPECT_EQ(decoded.message(), "Failed to open 'x': nope");
  }
}

TEST(ErrorCodec, KeepsContextHintErrnoAndWhere) {
  base::Error original = [] {
    base::ErrorContext outer{"installing", "bash"};
    base::ErrorContext inner{"unpacking", "data.tar.xz"};
    return base::Error(base::ErrorKind::kFailed, "Failed to write '/usr/bin/bash': No space left on device");
  }();
  original.with_errno(28).with_hint("make the disk larger");
  const base::Error decoded = round_trip(original);
  EXPECT_EQ(decoded.context(), (std::vector<std::string>{"unpacking data.tar.xz", "installing bash"}));
  EXPECT_EQ(decoded.errno_value(), 28);
  EXPECT_EQ(decoded.hint(), "make the disk larger");
  ASSERT_FALSE(decoded.details().empty());
  EXPECT_EQ(decoded.details()[0].first, "where");
  EXPECT_NE(decoded.details()[0].second.find("error_codec_test.cpp:"), std::string::npos);
}

TEST(ErrorCodec, PrefixesTheStageTheSupervisorKnowsNotTheOneOnTheWire) {
  base::Error original(base::ErrorKind::kFailed, "boom");
  original.with_stage("signer");  // a stage may lie about who it is
  const base::Error decoded = round_trip(original, "fetcher");
  EXPECT_EQ(decoded.stage(), "fetcher");
  EXPECT_EQ(std::string(decoded.what()).rfind("stage 'fetcher': boom", 0), 0u) << decoded.what();
}

TEST(ErrorCodec, RemoteContextGoesInsideTheLocalContext) {
  capnp::MallocMessageBuilder builder;
  auto wire = builder.initRoot<proto::Error>();
  encode_error(base::Error(base::ErrorKind::kFailed, "boom"), wire);
  wire.initContext(1).set(0, "remote line");
  base::ErrorContext local{"running stage", "fetcher"};
  const base::Error decoded = decode_error(wire.asReader(), "fetcher");
  EXPECT_EQ(decoded.context(), (std::vector<std::string>{"remote line", "running stage fetcher"}));
}

TEST(ErrorCodec, NeutralisesHostileText) {
  capnp::MallocMessageBuilder builder;
  auto wire = builder.initRoot<proto::Error>();
  wire.setMessage("bad\x1b[2Jthing\nsecond line");
  wire.setHint(std::string(10000, 'h'));
  auto context = wire.initContext(100);
  for (unsigned i = 0; i < context.size(); ++i) context.set(i, "line\r");
  const base::Error decoded = decode_error(wire.asReader(), "installer");
  EXPECT_EQ(decoded.message(), "bad?[2Jthing\nsecond line");
  EXPECT_LE(decoded.hint().size(), kMaxRemoteTextBytes + 3);
  EXPECT_EQ(decoded.context().size(), kMaxRemoteContextLines);
  EXPECT_EQ(decoded.context()[0], "line?");
}

}  // namespace
}  // namespace ipc
