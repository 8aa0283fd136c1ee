#include "stages/fetcher/fetcher_stage.hpp"

#include <fcntl.h>
#include <stdlib.h>

#include "stages/fetcher/sha256.hpp"

namespace stage::fetcher {
namespace {

constexpr std::uint32_t kMaxWorkers = 64;

void require_plain_name(const std::string& name) {
  const bool plain = !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
                     !name.ends_with(".part");
  base::require(plain, "Failed to accept download destination '" + name + "': not a plain file name");
}

// libcurl reads the proxy from the environment; this process is the stage,
// so setting it here reaches every transfer and nothing else.
void export_proxy(const char* name, const std::string& value) {
  if (!value.empty()) ::setenv(name, value.c_str(), 1);
}

CheckedBy checked_by(ipc::proto::FetcherRequest::Download::CheckedBy value) {
  using Proto = ipc::proto::FetcherRequest::Download::CheckedBy;
  switch (value) {
    case Proto::SIGNATURE: return CheckedBy::kSignature;
    case Proto::PACKAGE_SIGNATURES: return CheckedBy::kPackageSignatures;
    case Proto::NOTHING: return CheckedBy::kNothing;
  }
  base::fail(base::ErrorKind::kInvalidInput, "Failed to accept fetcher request: unknown checkedBy value " +
                                                 std::to_string(static_cast<unsigned>(value)));
}

}  // namespace

FetchRequest decode_request(ipc::proto::FetcherRequest::Reader request, int output_dir_fd) {
  FetchRequest out;
  base::require(request.getWorkers() >= 1 && request.getWorkers() <= kMaxWorkers,
               "Failed to accept fetcher request: workers must be 1.." + std::to_string(kMaxWorkers));
  out.options.dest_dir_fd = output_dir_fd;
  out.options.workers = request.getWorkers();
  out.options.max_attempts = request.getRetries() + 1;
  out.options.per_file_max_time = std::chrono::seconds(request.getPerFileTimeoutSec());
  out.options.total_time_limit = std::chrono::seconds(request.getTotalTimeoutSec());
  for (auto d : request.getDownloads()) {
    DownloadItem item;
    item.url = d.getUrl();
    item.dest = std::string(d.getDestName());
    require_plain_name(item.dest.string());
    const std::string sha = d.getExpectedSha256();
    base::require(sha.empty() || is_sha256_hex(sha),
                 "Failed to accept download '" + item.url + "': expectedSha256 is not lowercase hex");
    if (!sha.empty()) item.sha256 = sha;
    base::require(d.getExpectedSize() >= -1, "Failed to accept download '" + item.url + "': negative size");
    if (d.getExpectedSize() >= 0) item.size = static_cast<std::uint64_t>(d.getExpectedSize());
    item.max_size = d.getMaxSize();
    item.signature_checked = request.getAllowPlainHttp();
    item.checked_by = checked_by(d.getCheckedBy());
    out.items.push_back(std::move(item));
  }
  out.http_proxy = request.getProxy().getHttp();
  out.https_proxy = request.getProxy().getHttps();
  out.no_proxy = request.getProxy().getNoProxy();
  return out;
}

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result) {
  base::require(request.isFetcher(), "Failed to run stage-fetcher: the request is for another stage");
  const auto fetcher = request.getFetcher();
  const auto dir = context.open(fetcher.getOutputDir(), O_RDONLY | O_DIRECTORY, "output directory");
  const FetchRequest decoded = decode_request(fetcher, dir.get());
  export_proxy("http_proxy", decoded.http_proxy);
  export_proxy("https_proxy", decoded.https_proxy);
  export_proxy("no_proxy", decoded.no_proxy);

  DownloadCallbacks callbacks;
  callbacks.on_warning = [&](std::string_view text) { context.log(ipc::LogLevel::kWarning, text); };
  callbacks.on_progress = [&](const Progress& p) {
    ipc::ProgressUpdate update;
    update.phase = "downloading";
    update.done = p.files_done;
    update.total = p.files_total;
    update.bytes_done = p.bytes_done;
    update.bytes_total = p.bytes_total;
    update.files_done = static_cast<std::uint32_t>(p.files_done);
    update.files_total = static_cast<std::uint32_t>(p.files_total);
    update.rate_per_sec = p.bytes_per_second;
    context.progress(update);
  };
  callbacks.cancelled = [&] { return context.cancelled(); };
  const auto results = download_all(decoded.items, decoded.options, callbacks);
  context.check_cancelled();
  check_all_downloaded(results);

  auto out = result.initFetcher();
  auto files = out.initFiles(static_cast<unsigned>(results.size()));
  std::uint64_t total = 0;
  for (unsigned i = 0; i < results.size(); ++i) {
    files[i].setUrl(results[i].url);
    files[i].setDestName(results[i].dest.string());
    files[i].setSha256(results[i].sha256);
    files[i].setSize(results[i].size);
    files[i].setResumed(results[i].resumes > 0);
    files[i].setAttempts(results[i].attempts);
    total += results[i].size;
  }
  out.setBytesTotal(total);
}

}  // namespace stage::fetcher
