// Mutation fuzzing of the frame decoder and the phase validator with a fixed
// seed: every mutated stream either decodes into messages that can be read in
// full, or fails with base::Error. Anything else (another exception type, a
// crash, a sanitizer report, a hang) fails the test.
#include <capnp/compat/json.h>
#include <gtest/gtest.h>

#include <random>

#include "base/error.hpp"
#include "ipc/framing.hpp"
#include "ipc/stage_kind.hpp"
#include "ipc/test_messages.hpp"

namespace ipc {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr int kCases = 20000;

class Mutator {
 public:
  explicit Mutator(std::uint32_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return n == 0 ? 0 : rng_() % n; }
  std::uint8_t byte() { return static_cast<std::uint8_t>(rng_()); }

  Bytes mutate(Bytes frame, const Bytes& other) {
    switch (below(7)) {
      case 0:  // bit flips anywhere, the header included
        for (std::size_t i = 0, n = 1 + below(8); i < n; ++i) frame[below(frame.size())] ^= 1 << below(8);
        break;
      case 1:  // truncation
        frame.resize(below(frame.size()));
        break;
      case 2:  // a new length field, sometimes near the real one
        set_length(frame, below(2) ? static_cast<std::uint32_t>(rng_())
                                   : static_cast<std::uint32_t>(frame.size() - 4 + 8 * below(5)) - 16);
        break;
      case 3:  // a run of random bytes over the body
        for (std::size_t at = below(frame.size()), n = 1 + below(32); n > 0 && at < frame.size(); --n, ++at)
          frame[at] = byte();
        break;
      case 4:  // random words appended, with the length fixed up
        for (std::size_t i = 0, n = 8 * (1 + below(4)); i < n; ++i) frame.push_back(byte());
        set_length(frame, static_cast<std::uint32_t>(frame.size() - 4));
        break;
      case 5:  // segment table: a bogus segment count or size
        if (frame.size() >= 12) frame[4 + below(8)] = byte();
        break;
      case 6:  // the body of one message after the header of another
        frame.resize(std::min<std::size_t>(frame.size(), 4 + 8 * below(frame.size() / 8)));
        frame.insert(frame.end(), other.begin() + std::min<std::size_t>(4, other.size()), other.end());
        break;
    }
    return frame;
  }

 private:
  static void set_length(Bytes& frame, std::uint32_t length) {
    if (frame.size() < 4) return;
    for (int i = 0; i < 4; ++i) frame[i] = static_cast<std::uint8_t>(length >> (8 * i));
  }

  std::mt19937 rng_;
};

// Reads every field of a decoded message and runs it through the validator.
void exercise(const Frame& frame, Mutator& m) {
  capnp::JsonCodec json;
  const auto text = json.encode(frame.message());
  EXPECT_GT(text.size(), 0u);
  const Phase phases[] = {Phase::kStageAwaitingRequest, Phase::kStageRunning,
                          Phase::kSupervisorRunning, Phase::kSupervisorFinished};
  const auto kind = kAllStageKinds[m.below(kAllStageKinds.size())];
  try {
    validate_message(frame.message(), phases[m.below(4)], kind, m.below(3));
  } catch (const base::Error&) {
    // refusing is fine
  }
}

TEST(FramingFuzz, EveryMutatedFrameDecodesOrThrowsIpcError) {
  const auto samples = testing::all_sample_frames();
  FrameLimits limits;
  limits.max_frame_bytes = 1 << 20;  // keeps random lengths cheap; the limit itself is tested elsewhere
  Mutator m(20240611);
  int decoded = 0, refused = 0;
  for (int i = 0; i < kCases; ++i) {
    Bytes stream = m.mutate(samples[m.below(samples.size())], samples[m.below(samples.size())]);
    if (m.below(4) == 0) stream = m.mutate(std::move(stream), samples[0]);  // stacked mutations
    FrameDecoder decoder(limits);
    try {
      const std::size_t chunk = 1 + m.below(stream.size() + 1);
      for (std::size_t at = 0; at < stream.size(); at += chunk) {
        for (const auto& frame : decoder.feed(std::span(stream).subspan(at, std::min(chunk, stream.size() - at)))) {
          exercise(frame, m);
          ++decoded;
        }
      }
      decoder.finish();
    } catch (const base::Error& e) {
      ASSERT_EQ(e.kind(), base::ErrorKind::kInvalidInput) << e.what();
      ++refused;
    }
  }
  RecordProperty("decoded", decoded);
  RecordProperty("refused", refused);
  // Both outcomes must actually occur, or the mutations are not doing their job.
  EXPECT_GT(decoded, kCases / 50);
  EXPECT_GT(refused, kCases / 4);
}

}  // namespace
}  // namespace ipc
