// The supervisor's side of stage-signer's contract (signer.capnp): plain
// structs, encoded into the request the supervisor sends and decoded from the
// result it gets back. The mirror of the stage's own decoding
// (signer_stage.cpp).
#pragma once

#include <string>
#include <variant>

#include "ipc/shared.hpp"
#include "stages/signer/signer.capnp.h"

namespace stage::signer::client {

// A detached armored signature of `file` by the secret key in `key`.
struct SignDetached {
  ipc::FdReference key;
  std::string key_name;  // for messages only: the key file as the user named it
  ipc::FdReference file;
  std::string file_name;
};

// `signature` over `file` checked against the public keys in `key`.
struct VerifyDetached {
  ipc::FdReference key;
  std::string key_name;
  ipc::FdReference file;
  std::string file_name;
  ipc::FdReference signature;
};

// One operation per request (sbsign will be another alternative).
using Request = std::variant<SignDetached, VerifyDetached>;

struct Signed {
  std::string signature;    // armored
  std::string fingerprint;  // the signing key's primary fingerprint
};

struct Verified {
  bool good = false;
  std::string fingerprint;  // when good
  std::string problem;      // when not
};

void encode(const Request& request, ipc::proto::SignerRequest::Builder out);
// Each throws kSandboxViolation when the result is another operation's.
Signed decode_signed(ipc::proto::SignerResult::Reader result);
Verified decode_verified(ipc::proto::SignerResult::Reader result);

}  // namespace stage::signer::client
