// The supervisor's side of stage-fetcher's contract (fetcher.capnp): plain
// structs, encoded into the request the supervisor sends and decoded from the
// result it gets back. The mirror of the stage's own decode_request
// (fetcher_stage.hpp). Defaults are the schema's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ipc/shared.hpp"
#include "stages/fetcher/fetcher.capnp.h"

namespace stage::fetcher::client {

// What anchors a download's content (fetcher.capnp's CheckedBy).
enum class CheckedBy {
  kSignature,          // a signature, or a hash from signed metadata
  kPackageSignatures,  // an unsigned repomd.xml and what it lists
  kNothing,            // a repository marked trusted
};

struct Download {
  std::string url;
  std::string dest_name;              // plain file name inside the output directory
  std::string expected_sha256;        // lowercase hex; empty = unknown
  std::int64_t expected_size = -1;    // -1 = unknown
  std::uint64_t max_size = 256u << 20;  // cap when expected_size is unknown
  CheckedBy checked_by = CheckedBy::kSignature;
};

struct Proxy {
  std::string http, https, no_proxy;
};

struct Request {
  std::vector<Download> downloads;
  ipc::FdReference output_dir;
  std::uint32_t workers = 4;
  std::uint32_t retries = 3;
  std::uint32_t per_file_timeout_sec = 300;
  std::uint32_t total_timeout_sec = 3600;
  bool allow_plain_http = false;  // only for files checked by signature afterwards
  Proxy proxy;
  std::string user_agent;
};

struct File {
  std::string url;
  std::string dest_name;
  std::string sha256;
  std::uint64_t size = 0;
  bool resumed = false;
  std::uint32_t attempts = 0;
};

struct Result {
  std::vector<File> files;
  std::uint64_t bytes_total = 0;
};

void encode(const Request& request, ipc::proto::FetcherRequest::Builder out);
Result decode(ipc::proto::FetcherResult::Reader result);

}  // namespace stage::fetcher::client
