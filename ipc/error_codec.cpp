#include "ipc/error_codec.hpp"

#include <string>

namespace ipc {
namespace {

// Text from another process is printed on the supervisor's terminal: no
// escape sequences, bounded length.
std::string sanitize(kj::StringPtr text, bool allow_newline = false) {
  std::string out;
  const std::size_t n = std::min<std::size_t>(text.size(), kMaxRemoteTextBytes);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool control = c < 0x20 || c == 0x7f;
    out.push_back(control && !(allow_newline && c == '\n') ? '?' : static_cast<char>(c));
  }
  if (text.size() > n) out.append("...");
  return out;
}

}  // namespace

proto::Error::Kind to_proto(base::ErrorKind kind) noexcept {
  switch (kind) {
    case base::ErrorKind::kFailed: return proto::Error::Kind::FAILED;
    case base::ErrorKind::kInvalidInput: return proto::Error::Kind::INVALID_INPUT;
    case base::ErrorKind::kOverloaded: return proto::Error::Kind::OVERLOADED;
    case base::ErrorKind::kDisconnected: return proto::Error::Kind::DISCONNECTED;
    case base::ErrorKind::kUnimplemented: return proto::Error::Kind::UNIMPLEMENTED;
    case base::ErrorKind::kSandboxViolation: return proto::Error::Kind::SANDBOX_VIOLATION;
  }
  return proto::Error::Kind::FAILED;
}

base::ErrorKind from_proto(proto::Error::Kind kind) noexcept {
  switch (kind) {
    case proto::Error::Kind::FAILED: return base::ErrorKind::kFailed;
    case proto::Error::Kind::INVALID_INPUT: return base::ErrorKind::kInvalidInput;
    case proto::Error::Kind::OVERLOADED: return base::ErrorKind::kOverloaded;
    case proto::Error::Kind::DISCONNECTED: return base::ErrorKind::kDisconnected;
    case proto::Error::Kind::UNIMPLEMENTED: return base::ErrorKind::kUnimplemented;
    case proto::Error::Kind::SANDBOX_VIOLATION: return base::ErrorKind::kSandboxViolation;
  }
  return base::ErrorKind::kFailed;  // an enumerant this build does not know
}

void encode_error(const base::Error& error, proto::Error::Builder out) {
  out.setKind(to_proto(error.kind()));
  out.setMessage(error.message());
  auto context = out.initContext(static_cast<unsigned>(error.context().size()));
  for (unsigned i = 0; i < context.size(); ++i) context.set(i, error.context()[i]);
  out.setErrnoValue(error.errno_value());
  out.setHint(error.hint());
  out.setStage(error.stage());
  auto details = out.initDetails(static_cast<unsigned>(error.details().size() + 1));
  details[0].setKey("where");
  details[0].setValue(std::string(error.where().file_name()) + ":" +
                      std::to_string(error.where().line()));
  for (unsigned i = 1; i < details.size(); ++i) {
    details[i].setKey(error.details()[i - 1].first);
    details[i].setValue(error.details()[i - 1].second);
  }
}

base::Error decode_error(proto::Error::Reader in, std::string_view stage) {
  base::Error error(from_proto(in.getKind()), sanitize(in.getMessage(), true));
  std::vector<std::string> remote;
  for (auto line : in.getContext()) {
    if (remote.size() == kMaxRemoteContextLines) break;
    remote.push_back(sanitize(line));
  }
  error.add_inner_context(std::move(remote));
  if (in.getErrnoValue() != 0) error.with_errno(in.getErrnoValue());
  if (in.hasHint() && in.getHint().size() > 0) error.with_hint(sanitize(in.getHint()));
  for (auto detail : in.getDetails()) {
    if (error.details().size() == kMaxRemoteContextLines) break;
    error.with_detail(sanitize(detail.getKey()), sanitize(detail.getValue()));
  }
  error.with_stage(std::string(stage));
  return error;
}

}  // namespace ipc
