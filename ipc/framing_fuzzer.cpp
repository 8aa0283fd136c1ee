// libFuzzer entry point (clang only): the input is a byte stream from a stage.
//   meson setup -Db_sanitize=address,undefined ... (clang) && ./ipc/framing_fuzzer corpus/
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/error.hpp"
#include "ipc/framing.hpp"
#include "ipc/stage_kind.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ipc::FrameLimits limits;
  limits.max_frame_bytes = 1 << 20;
  ipc::FrameDecoder decoder(limits);
  try {
    auto phase = ipc::Phase::kSupervisorRunning;
    for (const auto& frame : decoder.feed(std::span(data, size))) {
      phase = ipc::validate_message(frame.message(), phase, ipc::proto::StageKind::FETCHER, 0);
    }
    decoder.finish();
  } catch (const base::Error&) {
    // expected for most inputs; anything else escapes and is reported
  }
  return 0;
}
