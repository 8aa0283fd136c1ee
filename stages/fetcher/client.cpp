#include "stages/fetcher/client.hpp"

#include "base/error.hpp"

namespace stage::fetcher::client {

namespace {

ipc::proto::FetcherRequest::Download::CheckedBy encode(CheckedBy value) {
  using Proto = ipc::proto::FetcherRequest::Download::CheckedBy;
  switch (value) {
    case CheckedBy::kSignature: return Proto::SIGNATURE;
    case CheckedBy::kPackageSignatures: return Proto::PACKAGE_SIGNATURES;
    case CheckedBy::kNothing: return Proto::NOTHING;
  }
  base::fail(base::ErrorKind::kInvalidInput,
             "Failed to encode a download: unknown CheckedBy value " + std::to_string(static_cast<int>(value)));
}

}  // namespace

void encode(const Request& request, ipc::proto::FetcherRequest::Builder out) {
  auto list = out.initDownloads(static_cast<unsigned>(request.downloads.size()));
  for (unsigned i = 0; i < list.size(); ++i) {
    const Download& d = request.downloads[i];
    list[i].setUrl(d.url);
    list[i].setDestName(d.dest_name);
    list[i].setExpectedSha256(d.expected_sha256);
    list[i].setExpectedSize(d.expected_size);
    list[i].setMaxSize(d.max_size);
    list[i].setCheckedBy(encode(d.checked_by));
  }
  request.output_dir.encode(out.initOutputDir());
  out.setWorkers(request.workers);
  out.setRetries(request.retries);
  out.setPerFileTimeoutSec(request.per_file_timeout_sec);
  out.setTotalTimeoutSec(request.total_timeout_sec);
  out.setAllowPlainHttp(request.allow_plain_http);
  auto proxy = out.initProxy();
  proxy.setHttp(request.proxy.http);
  proxy.setHttps(request.proxy.https);
  proxy.setNoProxy(request.proxy.no_proxy);
  out.setUserAgent(request.user_agent);
}

Result decode(ipc::proto::FetcherResult::Reader result) {
  Result out;
  for (auto f : result.getFiles()) {
    out.files.push_back({f.getUrl(), f.getDestName(), f.getSha256(), f.getSize(), f.getResumed(), f.getAttempts()});
  }
  out.bytes_total = result.getBytesTotal();
  return out;
}

}  // namespace stage::fetcher::client
