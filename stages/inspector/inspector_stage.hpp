// The inspector stage's boundary: decodes an InspectorRequest (the image as
// a read-only fd), reads it (image_reader.hpp) and encodes the report.
// Cap'n Proto names stay in this file pair and in client.cpp.
#pragma once

#include "ipc/stage_main.hpp"
#include "stages/inspector/inspector.capnp.h"

namespace stage::inspector {

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result);

}  // namespace stage::inspector
