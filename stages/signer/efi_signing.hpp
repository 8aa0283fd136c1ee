// Secure Boot signatures of EFI binaries (PE/COFF: a UKI, systemd-boot,
// GRUB's standalone image) with sbsign, checked with sbverify (Debian
// package sbsigntool). Both run on copies in a private directory made for
// one call in the temp directory (the sandbox's own tmpfs /tmp); the key's
// copy is overwritten and removed as soon as sbsign is done with it, and
// the directory with everything else when the call returns.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "stages/signer/signing.hpp"

namespace stage::signer {

struct SignedEfi {
  std::string bytes;   // the signed binary
  std::string sha256;  // of `bytes`, lower-case hex
};

// `binary` (named `binary_name` in messages) signed by the PEM private key
// `key` with the PEM X.509 `certificate`, and the result checked with
// sbverify against that certificate before it is returned. Errors
// (kInvalidInput) name the binary, the key and the certificate and say
// what is wrong: a key protected by a passphrase, not a PEM key, not a
// certificate, a key that does not match the certificate, not a PE binary
// (with sbsign's own message). `work_parent`: where the private directory
// is made (the temp directory if empty).
SignedEfi sign_efi(const KeyFile& key, const KeyFile& certificate, std::string_view binary,
                   std::string_view binary_name, const std::filesystem::path& work_parent = {});

struct EfiVerifyOutcome {
  bool good = false;
  std::string problem;  // why not, when not good (sbverify's message)
};

// sbverify --cert: a binary that is unsigned, signed by another key,
// changed after signing or no PE binary at all is an outcome; a certificate
// file sbverify cannot load is an error (kInvalidInput) naming it.
EfiVerifyOutcome verify_efi(const KeyFile& certificate, std::string_view binary, std::string_view binary_name,
                            const std::filesystem::path& work_parent = {});

}  // namespace stage::signer
