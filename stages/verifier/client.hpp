// The supervisor's side of stage-verifier's contract (verifier.capnp): plain
// structs, encoded into the request the supervisor sends and decoded from the
// result it gets back. The mirror of the stage's own decode_request
// (verifier_stage.hpp). Defaults are the schema's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/shared.hpp"
#include "stages/verifier/repository_keys.hpp"
#include "stages/verifier/verifier.capnp.h"

namespace stage::verifier::client {

struct Key {
  ipc::FdReference file;    // armored or binary OpenPGP key(ring)
  std::string fingerprint;  // optional pin
};

struct DetachedRelease {
  ipc::FdReference release, signature;
};

struct IndexFile {
  std::string relative_path;  // as listed in the Release
  ipc::FdReference file;
  std::optional<ipc::FdReference> uncompressed_out;     // writable: receives the text
  std::optional<ipc::FdReference> cached_uncompressed;  // a copy decompressed earlier
};

// An RPM repository's signed metadata.
struct RpmRepomd {
  ipc::FdReference repomd;                    // repodata/repomd.xml
  std::optional<ipc::FdReference> signature;  // repomd.xml.asc; unset: the repository publishes none
};

struct Repository {
  std::string name;
  std::string suite;  // expected Suite or Codename
  std::vector<std::string> architectures;
  std::vector<std::string> components;
  ipc::FdReference in_release;              // unless `detached` is set
  std::optional<DetachedRelease> detached;  // Release + Release.gpg
  std::vector<Key> keys;
  std::vector<IndexFile> index_files;
  std::optional<RpmRepomd> rpm;  // set: an RPM repository (suite to detached are unused)
};

struct PackageFile {
  std::string name;
  std::string repo;
  ipc::FdReference file;
  std::string expected_sha256;
  std::int64_t expected_size = -1;
};

// RPM: the keys a repository's packages must be signed by.
using RepositoryKeys = RepositoryKeysOf<Key>;

struct Request {
  std::vector<Repository> repositories;
  std::vector<PackageFile> packages;
  // Set: the packages are RPMs, each checked against its repository's keys.
  std::optional<std::vector<RepositoryKeys>> rpm_package_keys;
  bool check_archive_contents = false;  // also open each archive and check its members
  std::int64_t check_time = -1;         // unix time for Valid-Until; -1 = now
};

// A file the signed metadata lists (VerifierResult.ListedFile).
struct ListedFile {
  std::string kind;
  std::string relative_path;
  std::string sha256;
  std::uint64_t size = 0;
  std::string uncompressed_sha256;
  std::uint64_t uncompressed_size = 0;
};

struct VerifiedRepo {
  std::string name;
  std::string signer_fingerprint;
  std::int64_t date = 0;
  std::int64_t valid_until = -1;
  std::string suite;
  std::string codename;
  std::vector<ListedFile> listed_files;
  bool acquire_by_hash = false;

  const ListedFile* find_listed(std::string_view relative_path) const;
};

enum class Uncompressed { kNone, kWritten, kCached };

struct VerifiedIndex {
  std::string repo;
  std::string relative_path;
  std::string sha256;
  std::uint64_t size = 0;
  Uncompressed uncompressed = Uncompressed::kNone;
  std::string uncompressed_sha256;  // the Release's entry the text matched; empty: not listed
  std::uint64_t uncompressed_size = 0;
  std::string cache_refusal;        // why the cached copy was not used
};

struct VerifiedPackage {
  std::string name;
  std::string repo;
  std::string sha256;
  std::uint64_t size = 0;
};

struct Failure {
  std::string item;  // repository, index path or package name
  std::string reason;
};

struct Result {
  std::vector<VerifiedRepo> verified_repos;
  std::vector<VerifiedIndex> verified_indexes;
  std::vector<VerifiedPackage> verified_packages;
  std::vector<Failure> failures;
};

void encode(const Request& request, ipc::proto::VerifierRequest::Builder out);
Result decode(ipc::proto::VerifierResult::Reader result);

}  // namespace stage::verifier::client
