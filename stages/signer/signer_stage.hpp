// The signer stage's boundary: decodes a SignerRequest (every file arrives
// as an fd), runs the one operation it names (signing.hpp) and encodes the
// result. Cap'n Proto names stay in this file pair.
#pragma once

#include "ipc/stage_main.hpp"
#include "stages/signer/signer.capnp.h"

namespace stage::signer {

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result);

}  // namespace stage::signer
