// The resolver stage's boundary: decodes a ResolverRequest into plain
// structs, runs resolve() and encodes the result. Cap'n Proto names stay in
// this file pair. Reads: the Packages indexes (Debian) or primary and
// filelists (RPM) it is handed. Writes: nothing.
// Execs: nothing. Network: none.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ipc/stage_main.hpp"
#include "stages/resolver/resolver.capnp.h"
#include "stages/resolver/deb/resolver.hpp"

namespace stage::resolver {

struct IndexInput {
  Repository repository;
  // The Packages index, mapped or decompressed; shared with the Universe,
  // whose packages view into it.
  std::shared_ptr<const IndexText> text;
  std::string origin;
};

enum class Family { kDeb, kRpm };

// One RPM repository's metadata, uncompressed.
struct RpmIndexInput {
  Repository repository;
  std::string primary;    // primary.xml
  std::string filelists;  // filelists.xml; empty: file provides from primary only
  std::string origin;
};

struct StageInput {
  Family family = Family::kDeb;
  std::string architecture;
  std::vector<IndexInput> indexes;         // Debian
  std::vector<RpmIndexInput> rpm_indexes;  // RPM
  // Requests and excluded for both families (an RPM request's version is in
  // rpm's syntax); the base set is Debian's.
  ResolveOptions options;
  bool emit_dot = false;
};

// "= 1.2-3", ">= 1.2", "<< 2" or a bare version (meaning "="); "" = newest.
// Throws base::Error (kInvalidInput) for anything else.
std::pair<RelOp, std::string> parse_version_constraint(std::string_view text);

// Validates every field and reads each index through `context`.
StageInput decode_request(ipc::proto::ResolverRequest::Reader request, ipc::StageContext& context);

struct StageOutput {
  Family family = Family::kDeb;
  Resolution resolution;
  std::string native_arch;
  std::string dot;  // empty unless asked for
  // RPM without filelists: the file dependencies only filelists can
  // provide; set, `resolution` is empty (ResolverResult.filelistsNeeded).
  std::vector<std::string> filelists_needed;
};

StageOutput resolve_input(const StageInput& input);

void encode_result(const StageOutput& output, ipc::proto::ResolverResult::Builder result);

// The ipc::Handler of stage-resolver.
void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result);

}  // namespace stage::resolver
