// The verifier stage's boundary: decodes a VerifierRequest into the
// library's plain structs (every file arrives as an fd), checks each
// repository's Release, its index files and each package, and encodes what
// was verified. The first item that does not check out fails the whole run.
// Cap'n Proto names stay in this file pair.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipc/stage_main.hpp"
#include "stages/verifier/verifier.capnp.h"
#include "base/unique_fd.hpp"
#include "stages/verifier/checksums.hpp"
#include "stages/verifier/deb/index_check.hpp"
#include "stages/verifier/deb/release.hpp"
#include "stages/verifier/repository_keys.hpp"

namespace stage::verifier {

struct IndexInput {
  std::string relative_path;  // as listed in the Release
  base::UniqueFd fd;
  base::UniqueFd uncompressed_out;  // optional: receives the decompressed text
  base::UniqueFd cached;            // optional: a copy decompressed earlier
};

// An RPM repository's signed metadata.
struct RpmRepomdInput {
  base::UniqueFd repomd;     // repodata/repomd.xml
  base::UniqueFd signature;  // repomd.xml.asc; unset: the repository publishes none
};

struct RepositoryInput {
  // architecture is left empty: `architectures` are checked one by one.
  // Key files are already read into request.keys.
  // RPM: only request.repository and request.keys are used.
  ReleaseRequest request;
  std::optional<RpmRepomdInput> rpm;  // set: an RPM repository, not a Debian one
  std::vector<std::string> architectures;
  base::UniqueFd inrelease;           // set, or both of the two below
  base::UniqueFd release, signature;  // Release + Release.gpg
  std::vector<IndexInput> indexes;
};

struct PackageInput {
  std::string name;
  std::string repo;
  base::UniqueFd fd;
  std::string expected_sha256;                 // lower-case hex
  std::optional<std::uint64_t> expected_size;  // nullopt: only the hash is checked
};

// RPM: the keys a package's header signature must verify with, per
// repository (read from the request's key files).
using RepositoryKeys = RepositoryKeysOf<KeyBytes>;

struct VerifyInput {
  std::vector<RepositoryInput> repositories;
  std::vector<PackageInput> packages;
  bool check_archive_contents = false;
  std::optional<std::vector<RepositoryKeys>> rpm_keys;  // set: the packages are RPMs
};

// A file the signed metadata lists (RPM: a repomd.xml <data> entry).
struct ListedFile {
  std::string kind;
  std::string relative_path;
  Digest digest;
  std::optional<Digest> uncompressed;
};

struct VerifiedRepo {
  std::string name;
  Release release;  // RPM: signer_fingerprint and date (<revision>) only
  std::vector<ListedFile> listed_files;  // Release SHA256 entries, repomd.xml <data> entries
};

struct VerifiedIndex {
  std::string repo;
  std::string relative_path;
  Digest digest;
  IndexText::Source uncompressed = IndexText::Source::kNone;  // kDecompressed: written out
  std::optional<Digest> uncompressed_listed;
  std::string cache_refusal;
};

struct VerifiedPackage {
  std::string name;
  std::string repo;
  Digest digest;
};

// A package refused by the archive-content check; `reason` names the
// package, the tar and the member.
struct RefusedItem {
  std::string item;
  std::string reason;
};

struct VerifyOutcome {
  std::vector<VerifiedRepo> repos;
  std::vector<VerifiedIndex> indexes;
  std::vector<VerifiedPackage> packages;
  std::vector<RefusedItem> failures;  // only with check_archive_contents
};

// Opens every FdRef through `context` and reads the key files. Rejects
// missing names, a malformed expectedSha256, sizes below -1 and a checkTime
// below -1 (-1: Valid-Until and Date are checked against the clock).
VerifyInput decode_request(ipc::proto::VerifierRequest::Reader request, ipc::StageContext& context);

// Verifies repositories (with their indexes), then packages; reports progress
// and checks for cancellation between items. Throws base::Error naming the
// repository, index or package that failed; with check_archive_contents, a
// package whose hash or contents are refused is listed in `failures`
// instead, and the others are still checked.
VerifyOutcome verify_all(VerifyInput& input, ipc::StageContext& context);

// The ipc::Handler of stage-verifier.
void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result);

}  // namespace stage::verifier
