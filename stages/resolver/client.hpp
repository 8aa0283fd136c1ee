// The supervisor's side of stage-resolver's contract (resolver.capnp): plain
// structs, encoded into the request the supervisor sends and decoded from the
// result it gets back. The mirror of the stage's own decode_request
// (resolver_stage.hpp). Defaults are the schema's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipc/shared.hpp"
#include "stages/resolver/resolver.capnp.h"

namespace stage::resolver::client {

using ipc::proto::PackageSource;
using EssentialMode = ipc::proto::ResolverRequest::EssentialMode;

// An RPM repository's uncompressed primary.xml and filelists.xml.
struct RpmIndex {
  ipc::FdReference primary;
  std::optional<ipc::FdReference> filelists;  // unset: file provides from primary only
};

struct Index {
  std::string repo_name;
  ipc::FdReference packages;  // the uncompressed index
  std::string base_url;       // file names in the index are relative to it
  std::int32_t priority = 0;  // higher wins when versions tie
  std::vector<std::string> allow_packages;  // globs; empty = all
  std::optional<RpmIndex> rpm;  // set: an RPM repository (`packages` is unused)
};

enum class Family { kDeb, kRpm };

struct Requested {
  std::string name;     // exact name or glob
  std::string version;  // pin, e.g. "= 1.2-3"; empty = newest
  PackageSource source = PackageSource::SYSTEM;
};

struct Request {
  std::vector<Index> indexes;
  std::vector<Requested> requested;
  std::string architecture;
  EssentialMode essential = EssentialMode::REQUIRED;
  std::vector<std::string> excluded;
  bool emit_dot_graph = false;
  Family family = Family::kDeb;  // kRpm: `essential` is unused
};

struct Package {
  std::string name;
  std::string version;
  std::string architecture;
  std::string repo;
  std::string url;
  std::string filename;
  std::string sha256;
  std::uint64_t size = 0;
  PackageSource source = PackageSource::DEPENDENCY;
  bool essential = false;                // Debian only
  std::vector<std::string> pre_depends;  // Debian only
  Family family = Family::kDeb;          // the result's family member
};

struct Result {
  std::vector<Package> packages;         // sorted by name
  std::vector<std::string> install_order;
  std::string dot_graph;
  // RPM request without filelists: the file dependencies only filelists can
  // provide; set, `packages` is empty and the request is to be sent again
  // with filelists.
  std::vector<std::string> filelists_needed;
};

void encode(const Request& request, ipc::proto::ResolverRequest::Builder out);
Result decode(ipc::proto::ResolverResult::Reader result);

}  // namespace stage::resolver::client
