// The supervisor's side of stage-signer's contract (signer.capnp): plain
// structs, encoded into the request the supervisor sends and decoded from the
// result it gets back. The mirror of the stage's own decoding
// (signer_stage.cpp).
#pragma once

#include <cstdint>
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

// `file`, an EFI binary, signed for Secure Boot by the PEM private `key`
// with the PEM X.509 `certificate`; the signed binary is written to
// `output`, a regular file opened for writing.
struct SignEfi {
  ipc::FdReference key;
  std::string key_name;  // for messages only
  ipc::FdReference certificate;
  std::string cert_name;
  ipc::FdReference file;
  std::string file_name;
  ipc::FdReference output;
};

// The EFI binary `file` checked with sbverify against `certificate`.
struct VerifyEfi {
  ipc::FdReference certificate;
  std::string cert_name;
  ipc::FdReference file;
  std::string file_name;
};

// One operation per request.
using Request = std::variant<SignDetached, VerifyDetached, SignEfi, VerifyEfi>;

struct Signed {
  std::string signature;    // armored
  std::string fingerprint;  // the signing key's primary fingerprint
};

struct Verified {
  bool good = false;
  std::string fingerprint;  // when good
  std::string problem;      // when not
};

struct SignedEfi {
  std::string sha256;  // of the signed binary written to `output`, lower-case hex
  std::uint64_t size = 0;
};

struct VerifiedEfi {
  bool good = false;
  std::string problem;  // when not
};

void encode(const Request& request, ipc::proto::SignerRequest::Builder out);
// Each throws kSandboxViolation when the result is another operation's.
Signed decode_signed(ipc::proto::SignerResult::Reader result);
Verified decode_verified(ipc::proto::SignerResult::Reader result);
SignedEfi decode_signed_efi(ipc::proto::SignerResult::Reader result);
VerifiedEfi decode_verified_efi(ipc::proto::SignerResult::Reader result);

}  // namespace stage::signer::client
