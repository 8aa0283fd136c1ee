// The supervisor's side of stage-inspector's contract (inspector.capnp): the
// request it sends, and the report (report.hpp) encoded by the stage and
// decoded here. The stage is untrusted: decoding bounds what it accepts.
#pragma once

#include <optional>
#include <string>

#include "ipc/shared.hpp"
#include "stages/inspector/inspector.capnp.h"
#include "stages/inspector/report.hpp"

namespace stage::inspector::client {

struct Inspect {
  ipc::FdReference image;  // a regular file opened read-only
  std::string image_name;  // for messages only
  bool extract_sbom = false;  // return the embedded SBOM's bytes
  bool list_files = false;    // return every file of each ext2/3/4 and FAT partition (compare)
  // Instead of inspecting: `image` is qcow2, converted to raw into this
  // (an empty regular file opened read-write).
  std::optional<ipc::FdReference> raw_output;
};

void encode(const Inspect& request, ipc::proto::InspectorRequest::Builder out);

// Used by the stage to answer.
void encode_report(const Report& report, ipc::proto::InspectorResult::Builder out);
// Throws kSandboxViolation when a text field holds a NUL byte.
Report decode_report(ipc::proto::InspectorResult::Reader in);

}  // namespace stage::inspector::client
