#include "stages/fetcher/download.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>

#include "stages/fetcher/retry_policy.hpp"
#include "stages/fetcher/sha256.hpp"
#include "stages/fetcher/transfer.hpp"

namespace stage::fetcher {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kProgressInterval = std::chrono::milliseconds(200);
constexpr auto kMaxPollWait = std::chrono::milliseconds(250);

std::string what_anchors(CheckedBy checked_by) {
  switch (checked_by) {
    case CheckedBy::kSignature: return "checked against a signature";
    case CheckedBy::kPackageSignatures: return "not signed; packages are checked against their own signatures";
    case CheckedBy::kNothing: return "not signed: its repository is marked trusted";
  }
  return "not signed";
}

// "http://host[:port]/" of an http URL.
std::string origin_of(const std::string& url) {
  const auto path = url.find('/', std::string_view("http://").size());
  return path == std::string::npos ? url + "/" : url.substr(0, path + 1);
}

// The longest common prefix of a and b that ends with '/'.
std::string common_directory(const std::string& a, const std::string& b) {
  const auto [end, unused] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  const auto prefix = std::string(a.begin(), end);
  return prefix.substr(0, prefix.rfind('/') + 1);
}

// One plain http note per server and kind of anchor, not one per file (a
// default Debian build downloads some 160 packages from one repository).
struct PlainHttpGroup {
  std::string first_url;
  std::string directory;
  std::size_t files = 0;
};

std::string plain_http_note(const PlainHttpGroup& group, CheckedBy checked_by) {
  if (group.files == 1) {
    return "Downloading '" + group.first_url + "' over plain http; its content is " + what_anchors(checked_by);
  }
  return "Downloading " + std::to_string(group.files) + " files from '" + group.directory +
         "' over plain http; their content is " + what_anchors(checked_by);
}

void warn_plain_http(std::span<const DownloadItem> items, const DownloadCallbacks& callbacks) {
  if (!callbacks.on_warning) return;
  std::vector<std::pair<std::string, CheckedBy>> order;  // first appearance
  std::map<std::pair<std::string, CheckedBy>, PlainHttpGroup> groups;
  for (const auto& item : items) {
    if (!item.url.starts_with("http://")) continue;
    const auto key = std::make_pair(origin_of(item.url), item.checked_by);
    auto [it, inserted] = groups.try_emplace(key);
    auto& group = it->second;
    if (inserted) {
      order.push_back(key);
      group.first_url = item.url;
      group.directory = item.url.substr(0, item.url.rfind('/') + 1);
    } else {
      group.directory = common_directory(group.directory, item.url);
    }
    ++group.files;
  }
  for (const auto& key : order) callbacks.on_warning(plain_http_note(groups.at(key), key.second));
}

void validate_items(std::span<const DownloadItem> items, const DownloadCallbacks& callbacks) {
  std::set<std::filesystem::path> seen;
  for (const auto& item : items) {
    base::ErrorContext ctx("checking the download of", item.url);
    const bool https = item.url.starts_with("https://");
    const bool http = item.url.starts_with("http://");
    base::require(https || http, "Failed to download '" + item.url + "': only http(s) URLs are supported");
    base::require(https || item.signature_checked,
                 "Failed to download '" + item.url +
                     "': plain http is allowed only for content checked against a signature");
    base::require(!item.dest.empty() && item.dest.has_filename(),
                 "Failed to download '" + item.url + "': no destination file name");
    base::require(seen.insert(item.dest).second,
                 "Failed to download '" + item.url + "': destination '" + item.dest.string() + "' used twice");
    base::require(!item.sha256 || is_sha256_hex(*item.sha256),
                 "Failed to download '" + item.url + "': expected sha256 is not 64 lowercase hex digits");
  }
  warn_plain_http(items, callbacks);
}

// The size of dest when it already holds the expected content (a previous
// run finished it).
std::optional<std::uint64_t> size_if_present(const DownloadItem& item, int dir_fd) {
  if (!item.sha256) return std::nullopt;
  base::UniqueFd fd(::openat(dir_fd, item.dest.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (item.size && size != *item.size) return std::nullopt;
  Sha256 hash;
  hash.update_from_fd(fd.get(), size, item.dest.string());
  if (hash.finish_hex() != *item.sha256) return std::nullopt;
  return size;
}

struct MultiDeleter {
  void operator()(CURLM* multi) const noexcept { curl_multi_cleanup(multi); }
};

// One batch: a queue of items waiting (possibly for a backoff), the active
// transfers on one multi handle, and the results.
class Session {
 public:
  Session(std::span<const DownloadItem> items, const DownloadOptions& options,
          const DownloadCallbacks& callbacks);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  std::vector<DownloadResult> run();

 private:
  struct Waiting {
    std::size_t index;
    Clock::time_point ready_at;
  };

  void start_ready(Clock::time_point now);
  void collect_finished();
  void settle(std::size_t index, AttemptOutcome outcome, Transfer& transfer);
  void fail(std::size_t index, const std::string& reason, base::ErrorKind kind);
  void abort_all(const std::string& reason);
  void report_progress(bool force);
  std::chrono::milliseconds poll_wait(Clock::time_point now) const;

  std::span<const DownloadItem> items_;
  const DownloadOptions& options_;
  const DownloadCallbacks& callbacks_;
  std::unique_ptr<CURLM, MultiDeleter> multi_;
  std::deque<Waiting> waiting_;
  std::map<CURL*, std::pair<std::size_t, std::unique_ptr<Transfer>>> active_;
  std::vector<DownloadResult> results_;
  std::vector<std::uint64_t> bytes_settled_;   // per item, from finished attempts
  std::uint64_t received_settled_ = 0;
  std::size_t files_done_ = 0;
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_progress_{};
  std::mt19937 jitter_{std::random_device{}()};
};

Session::Session(std::span<const DownloadItem> items, const DownloadOptions& options,
                 const DownloadCallbacks& callbacks)
    : items_(items), options_(options), callbacks_(callbacks), multi_(curl_multi_init()),
      results_(items.size()), bytes_settled_(items.size(), 0) {
  base::check(multi_ != nullptr, "Failed to create a libcurl multi handle");
  curl_multi_setopt(multi_.get(), CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
  curl_multi_setopt(multi_.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options.workers));
  for (std::size_t i = 0; i < items.size(); ++i) {
    results_[i].url = items[i].url;
    results_[i].dest = items[i].dest;
    if (const auto size = size_if_present(items[i], options.dest_dir_fd)) {
      results_[i].ok = results_[i].already_present = true;
      results_[i].sha256 = *items[i].sha256;
      results_[i].size = *size;
      bytes_settled_[i] = results_[i].size;
      ++files_done_;
    } else {
      waiting_.push_back({i, started_});
    }
  }
}

Session::~Session() {
  for (auto& [easy, entry] : active_) curl_multi_remove_handle(multi_.get(), easy);
}

std::vector<DownloadResult> Session::run() {
  const auto deadline = started_ + options_.total_time_limit;
  while (!waiting_.empty() || !active_.empty()) {
    const auto now = Clock::now();
    if (options_.total_time_limit.count() > 0 && now >= deadline) {
      abort_all("total time limit of " + std::to_string(options_.total_time_limit.count()) + " ms exceeded");
      break;
    }
    if (callbacks_.cancelled && callbacks_.cancelled()) {
      abort_all("cancelled");
      break;
    }
    start_ready(now);
    int running = 0;
    const CURLMcode rc = curl_multi_perform(multi_.get(), &running);
    base::check(rc == CURLM_OK, std::string("Failed to run downloads: ") + curl_multi_strerror(rc));
    collect_finished();
    report_progress(false);
    if (waiting_.empty() && active_.empty()) break;
    auto wait = poll_wait(Clock::now());
    if (options_.total_time_limit.count() > 0) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    }
    curl_multi_poll(multi_.get(), nullptr, 0, static_cast<int>(std::max<long long>(wait.count(), 0)), nullptr);
  }
  report_progress(true);
  return std::move(results_);
}

void Session::start_ready(Clock::time_point now) {
  for (auto it = waiting_.begin(); it != waiting_.end() && active_.size() < options_.workers;) {
    if (it->ready_at > now) {
      ++it;
      continue;
    }
    const std::size_t index = it->index;
    it = waiting_.erase(it);
    auto transfer = std::make_unique<Transfer>(items_[index], options_);
    ++results_[index].attempts;
    if (transfer->resumed()) ++results_[index].resumes;
    CURL* easy = transfer->handle();
    const CURLMcode rc = curl_multi_add_handle(multi_.get(), easy);
    base::check(rc == CURLM_OK, std::string("Failed to start a download: ") + curl_multi_strerror(rc));
    active_.emplace(easy, std::make_pair(index, std::move(transfer)));
  }
}

void Session::collect_finished() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_.get(), &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    curl_multi_remove_handle(multi_.get(), easy);
    auto node = active_.extract(easy);
    base::check(!node.empty(), "libcurl reported a transfer this session did not start");
    auto& [index, transfer] = node.mapped();
    settle(index, transfer->finish(code), *transfer);
  }
}

void Session::settle(std::size_t index, AttemptOutcome outcome, Transfer& transfer) {
  using Kind = AttemptOutcome::Kind;
  DownloadResult& result = results_[index];
  received_settled_ += transfer.bytes_received();
  bytes_settled_[index] = transfer.bytes_on_disk();
  if (outcome.kind == Kind::kDone) {
    result.ok = true;
    result.sha256 = std::move(outcome.sha256);
    result.size = outcome.size;
    ++files_done_;
    report_progress(true);
    return;
  }
  if (outcome.kind == Kind::kRetry && result.attempts < options_.max_attempts) {
    auto delay = backoff_delay(result.attempts + 1, options_,
                               std::uniform_real_distribution<double>(0, 1)(jitter_));
    if (outcome.retry_after) delay = std::min(std::max(delay, *outcome.retry_after), options_.backoff_max);
    waiting_.push_back({index, Clock::now() + delay});
    return;
  }
  fail(index, outcome.reason,
       outcome.kind == Kind::kRetry ? base::ErrorKind::kOverloaded : base::ErrorKind::kFailed);
}

void Session::fail(std::size_t index, const std::string& reason, base::ErrorKind kind) {
  DownloadResult& result = results_[index];
  result.ok = false;
  result.error_kind = kind;
  result.error = "Failed to download '" + result.url + "': " + reason + " (after " +
                 std::to_string(result.attempts) + (result.attempts == 1 ? " attempt)" : " attempts)");
  ++files_done_;
}

void Session::abort_all(const std::string& reason) {
  for (auto& [easy, entry] : active_) {
    curl_multi_remove_handle(multi_.get(), easy);
    entry.second->abandon();
    fail(entry.first, reason, base::ErrorKind::kOverloaded);
  }
  active_.clear();
  for (const auto& w : waiting_) fail(w.index, reason, base::ErrorKind::kOverloaded);
  waiting_.clear();
}

std::chrono::milliseconds Session::poll_wait(Clock::time_point now) const {
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxPollWait);
  if (active_.size() < options_.workers) {
    for (const auto& w : waiting_) {
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(w.ready_at - now));
    }
  }
  return wait;
}

void Session::report_progress(bool force) {
  if (!callbacks_.on_progress) return;
  const auto now = Clock::now();
  if (!force && now - last_progress_ < kProgressInterval) return;
  last_progress_ = now;
  Progress p;
  p.files_total = items_.size();
  p.files_done = files_done_;
  std::uint64_t received = received_settled_;
  std::vector<std::uint64_t> on_disk = bytes_settled_;
  for (const auto& [easy, entry] : active_) {
    on_disk[entry.first] = entry.second->bytes_on_disk();
    received += entry.second->bytes_received();
  }
  for (std::size_t i = 0; i < items_.size(); ++i) {
    p.bytes_done += on_disk[i];
    p.bytes_total += items_[i].size.value_or(0);
  }
  const double seconds = std::chrono::duration<double>(now - started_).count();
  p.bytes_per_second = seconds > 0 ? static_cast<double>(received) / seconds : 0;
  callbacks_.on_progress(p);
}

}  // namespace

std::vector<DownloadResult> download_all(std::span<const DownloadItem> items,
                                         const DownloadOptions& options,
                                         const DownloadCallbacks& callbacks) {
  base::require(options.workers > 0 && options.max_attempts > 0,
               "Failed to start downloads: workers and max_attempts must be at least 1");
  validate_items(items, callbacks);
  static std::once_flag curl_initialised;
  std::call_once(curl_initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Session session(items, options, callbacks);
  return session.run();
}

void check_all_downloaded(std::span<const DownloadResult> results) {
  const auto failed = std::count_if(results.begin(), results.end(), [](const auto& r) { return !r.ok; });
  if (failed == 0) return;
  const auto first = std::find_if(results.begin(), results.end(), [](const auto& r) { return !r.ok; });
  std::string message = first->error;
  if (failed > 1) message += " (and " + std::to_string(failed - 1) + " more failed downloads)";
  throw base::Error(first->error_kind, std::move(message));
}

}  // namespace stage::fetcher
