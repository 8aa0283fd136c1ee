// The fetcher stage's boundary: decodes a FetcherRequest into DownloadItems,
// runs download_all into the output directory fd, and encodes the result.
// Cap'n Proto names stay in this file pair.
#pragma once

#include <vector>

#include "ipc/stage_main.hpp"
#include "stages/fetcher/fetcher.capnp.h"
#include "stages/fetcher/download.hpp"

namespace stage::fetcher {

struct FetchRequest {
  std::vector<DownloadItem> items;  // dest: a plain name inside the output directory
  DownloadOptions options;
  std::string http_proxy, https_proxy, no_proxy;
};

// Validates every field: a destName is one plain file name (no '/', not
// "."/"..", no ".part" suffix), hashes are lowercase hex, limits are sane.
FetchRequest decode_request(ipc::proto::FetcherRequest::Reader request, int output_dir_fd);

// The ipc::Handler of stage-fetcher.
void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result);

}  // namespace stage::fetcher
