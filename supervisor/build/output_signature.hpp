// Signed outputs: SHA256SUMS signed by stage-signer (the supervisor passes
// the key file's fd and never reads it) into SHA256SUMS.asc, and `verify`,
// which has the signer check that signature and then hashes every file
// SHA256SUMS lists. The supervisor parses no OpenPGP itself.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "supervisor/stage/orchestrator.hpp"

namespace supervisor {

// Signs DIR/SHA256SUMS with the secret key in `key_file` (opened
// O_RDONLY|O_NOFOLLOW, passed as an fd) and writes DIR/SHA256SUMS.asc as a
// new file (O_NOFOLLOW, temporary name, rename). Returns the signing key's
// fingerprint.
std::string sign_checksums(const std::filesystem::path& dir, const std::filesystem::path& key_file,
                           OrchestratorOptions options, ProgressReporter& progress);

struct VerifyReport {
  bool good = false;
  std::string signer;                 // the signing key's fingerprint, when the signature is good
  std::vector<std::string> problems;  // one line each: "image.raw: sha256 differs ..."
  std::vector<std::string> checked;   // the names whose hash matched
  std::vector<std::string> unlisted;  // regular files in DIR that SHA256SUMS does not list
};

// Checks DIR/SHA256SUMS.asc against the public keys in `key_file`, then
// every file DIR/SHA256SUMS lists (plain names in DIR, opened O_NOFOLLOW).
// A missing SHA256SUMS or key file is an base::Error; everything that does
// not check out is in the report.
VerifyReport verify_output_dir(const std::filesystem::path& dir, const std::filesystem::path& key_file,
                               OrchestratorOptions options, ProgressReporter& progress);

}  // namespace supervisor
