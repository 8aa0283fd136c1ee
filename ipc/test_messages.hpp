// Sample messages for the ipc tests: one valid message of every kind.
#pragma once

#include <capnp/message.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ipc/stage.capnp.h"

namespace ipc::testing {

// A request for `kind` with a few fields of each type set; `fd_count` fds.
void fill_request(proto::Message::Builder message, proto::StageKind kind, std::uint32_t fd_count = 0);
// A result for `kind` with one list entry.
void fill_result(proto::Message::Builder message, proto::StageKind kind);
void fill_progress(proto::Message::Builder message, proto::StageKind kind);
void fill_log(proto::Message::Builder message);
void fill_error(proto::Message::Builder message);
void fill_cancel(proto::Message::Builder message);

// Encoded frames (header + body) of every sample message.
std::vector<std::vector<std::uint8_t>> all_sample_frames();

}  // namespace ipc::testing
