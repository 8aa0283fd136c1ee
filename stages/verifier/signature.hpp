// OpenPGP signature checks of repository metadata against the keys of one
// GpgHome. The returned text is what gpg reports as signed; callers parse it
// and never the file again.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "stages/verifier/gpg_home.hpp"

namespace stage::verifier {

struct SignatureCheck {
  std::string repository;  // shown in every message (name or URL); may be empty
  std::string file;        // "InRelease", "Release.gpg", ...
  // Accepted primary or signing-subkey fingerprints (any form that
  // normalize_fingerprint takes). Empty: any key in the GpgHome.
  std::vector<std::string> fingerprint_pins;
};

struct VerifiedText {
  std::string text;                // exactly the signed bytes
  std::string signer_fingerprint;  // primary key of the accepted signature
};

// A clearsigned document (InRelease). Rejects text outside the one signed
// block, bad signatures, unknown, unpinned, expired or revoked keys, expired
// signatures and weak digests (MD5, SHA-1).
VerifiedText verify_clearsigned(GpgHome& home, std::string_view document,
                                const SignatureCheck& check);

// `data` signed by the detached `signature` (Release + Release.gpg).
VerifiedText verify_detached(GpgHome& home, std::string_view data,
                             std::string_view signature, const SignatureCheck& check);

}  // namespace stage::verifier
