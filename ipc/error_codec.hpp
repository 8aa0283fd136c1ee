// base::Error <-> proto::Error, the only way errors cross the process boundary.
#pragma once

#include <string_view>

#include "base/error.hpp"
#include "ipc/stage.capnp.h"

namespace ipc {

// Limits applied when decoding text a stage sent: the supervisor prints it.
inline constexpr std::size_t kMaxRemoteTextBytes = 4096;
inline constexpr std::size_t kMaxRemoteContextLines = 32;

// Fills `out` from `error`, including its source location as detail "where".
void encode_error(const base::Error& error, proto::Error::Builder out);

// Rebuilds an Error from a stage's message. `stage` names the sender as the
// supervisor knows it (the wire's own stage field is not trusted) and becomes
// the "stage '<name>': " prefix. Context lines stay innermost first; control
// characters are replaced and overlong text is cut.
base::Error decode_error(proto::Error::Reader in, std::string_view stage);

proto::Error::Kind to_proto(base::ErrorKind kind) noexcept;
base::ErrorKind from_proto(proto::Error::Kind kind) noexcept;

}  // namespace ipc
