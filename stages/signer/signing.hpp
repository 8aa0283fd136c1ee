// OpenPGP signatures made and checked in a GnuPG home of their own (the
// verifier's GpgHome), which exists only for one call: a secret key is
// imported there, used once and removed with the home. The stage decodes
// its request into these calls (signer_stage.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace stage::signer {

// A key file's bytes and the name the user gave it (messages name it).
struct KeyFile {
  std::string name;
  std::string bytes;
};

struct DetachedSignature {
  std::string armored;      // "-----BEGIN PGP SIGNATURE-----" ...
  std::string fingerprint;  // the signing key's primary fingerprint, upper-case hex
};

// An armored detached signature of `data` (named `data_name` in messages)
// by the one secret key in `key`. Refuses a file with no secret key, more
// than one, a key that cannot sign, and a key protected by a passphrase.
// `home_parent`: where the GnuPG home is made (the temp directory if empty).
DetachedSignature sign_detached(const KeyFile& key, std::string_view data, std::string_view data_name,
                                const std::filesystem::path& home_parent = {});

struct VerifyOutcome {
  bool good = false;
  std::string fingerprint;  // the accepted signer's primary key, when good
  std::string problem;      // why not, when not good
};

// Checks the detached `signature` over `data` against the public keys in
// `keys`. A bad, foreign or weak signature is an outcome; a key file with no
// public key is an error (kInvalidInput) naming it.
VerifyOutcome verify_detached(const KeyFile& keys, std::string_view data, std::string_view signature,
                              std::string_view data_name, const std::filesystem::path& home_parent = {});

}  // namespace stage::signer
