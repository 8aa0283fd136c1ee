// A repository's Release metadata: signature, parsing and the checks apt
// makes before trusting it (suite, architecture, Valid-Until).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/verifier/signature.hpp"

namespace stage::verifier {

struct ReleaseFile {
  std::string path;  // relative to dists/<suite>/, e.g. "main/binary-amd64/Packages.xz"
  std::uint64_t size = 0;
  std::string sha256;  // lower-case hex
};

struct Release {
  std::string origin;
  std::string label;
  std::string suite;
  std::string codename;
  std::optional<std::chrono::sys_seconds> date;
  std::optional<std::chrono::sys_seconds> valid_until;
  std::vector<std::string> architectures;
  std::vector<std::string> components;
  std::vector<ReleaseFile> sha256;  // in file order
  // "Acquire-By-Hash: yes": every listed file is also served under
  // <dir>/by-hash/SHA256/<hash>, so indexes fetched by hash cannot be a
  // newer copy than the one this Release lists (apt's answer to mirrors
  // that update between two downloads).
  bool acquire_by_hash = false;
  std::string signer_fingerprint;   // set by verify_release*

  const ReleaseFile* find_file(std::string_view path) const;
};

// A key file already read into memory (a stage receives key files as fds).
struct KeyBytes {
  std::string origin;       // names the file in messages
  std::string bytes;        // armored or binary
  std::string fingerprint;  // optional pin: only this key of the file may sign
};

// What the caller asked for; the Release must match it.
struct ReleaseRequest {
  std::string repository;   // shown in messages (name or URL)
  std::string suite;        // matches the Suite or the Codename field
  std::string architecture; // must be listed in Architectures
  std::vector<std::string> components;  // each must be listed in Components
  std::vector<std::filesystem::path> keyrings;  // armored or binary
  std::vector<std::string> fingerprint_pins;    // empty: any key of the keyrings
  std::chrono::sys_seconds now;
  // Imported besides `keyrings`. When any of them carries its own pin, the
  // accepted signers are all pins plus, unless fingerprint_pins is set, every
  // key of the files without a pin.
  std::vector<KeyBytes> keys;
};

// Parses the (already verified) text. `origin` names it in errors.
Release parse_release(std::string_view text, std::string_view origin);

// Rejects a Release for another suite, without the architecture or a
// component, past its Valid-Until, or dated in the future.
// `file` names the verified file in messages.
void check_release(const Release& release, const ReleaseRequest& request,
                   std::string_view file = "Release");

// Imports every key of the request into `home` and returns the fingerprints
// a signature must match (empty: any imported key). Shared with the other
// families' detached signatures (RPM's repomd.xml.asc).
std::vector<std::string> import_request_keys(GpgHome& home, const ReleaseRequest& request);

// Verifies InRelease, or Release + Release.gpg when `signature` is given,
// then parses and checks the signed text. Keys come from request.keyrings
// and request.keys in a private GpgHome under `gpg_parent` (the temp
// directory when empty).
Release verify_release(std::string_view inrelease, const ReleaseRequest& request,
                       const std::filesystem::path& gpg_parent = {});
Release verify_release_detached(std::string_view release, std::string_view signature,
                                const ReleaseRequest& request,
                                const std::filesystem::path& gpg_parent = {});

// Reads dist_dir/InRelease if it exists, else Release and Release.gpg, each
// once, and verifies as above.
Release verify_release_dir(const std::filesystem::path& dist_dir,
                           const ReleaseRequest& request,
                           const std::filesystem::path& gpg_parent = {});

}  // namespace stage::verifier
