#include "stages/fetcher/transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "build_info.hpp"
#include "base/error.hpp"
#include "stages/fetcher/retry_policy.hpp"

namespace stage::fetcher {
namespace {

template <typename T>
void set_option(CURL* easy, CURLoption option, T value) {
  const CURLcode rc = curl_easy_setopt(easy, option, value);
  base::check(rc == CURLE_OK, std::string("Failed to set a libcurl option: ") + curl_easy_strerror(rc));
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

// "bytes 1000-4999/5000" → 1000.
std::optional<std::uint64_t> parse_content_range_start(std::string_view value) {
  const auto digits = value.find_first_of("0123456789");
  if (digits == std::string_view::npos) return std::nullopt;
  std::uint64_t start = 0;
  const auto [end, ec] = std::from_chars(value.data() + digits, value.data() + value.size(), start);
  if (ec != std::errc() || end == value.data() + value.size() || *end != '-') return std::nullopt;
  return start;
}

constexpr long kReceiveBufferBytes = 256L * 1024;

}  // namespace

Transfer::Transfer(const DownloadItem& item, const DownloadOptions& options)
    : item_(item), dir_fd_(options.dest_dir_fd), part_path_(item.dest.string() + ".part"), easy_(curl_easy_init()),
      error_buffer_(CURL_ERROR_SIZE + 1, '\0') {
  base::check(easy_ != nullptr, "Failed to create a libcurl handle");
  open_partial();
  configure(options);
}

void Transfer::open_partial() {
  if (dir_fd_ == AT_FDCWD) {
    std::error_code ec;
    std::filesystem::create_directories(item_.dest.parent_path(), ec);
  }
  const std::string path = part_path_.string();
  part_fd_.reset(base::check_syscall(::openat(dir_fd_, path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644),
                                    "open", path));
  struct stat st {};
  base::check_syscall(::fstat(part_fd_.get(), &st), "stat", path);
  offset_ = static_cast<std::uint64_t>(st.st_size);
  // A prefix as long as the whole file cannot be continued with a Range.
  if (item_.size && offset_ >= *item_.size) offset_ = 0;
  if (offset_ == 0) {
    base::check_syscall(::ftruncate(part_fd_.get(), 0), "truncate", path);
    return;
  }
  hash_.update_from_fd(part_fd_.get(), offset_, path);
  written_ = offset_;
  resumed_ = true;
}

void Transfer::configure(const DownloadOptions& options) {
  CURL* easy = easy_.get();
  const bool https = item_.url.starts_with("https://");
  // Never downgrade: an https download may only be redirected to https.
  const char* protocols = https ? "https" : "http,https";
  set_option(easy, CURLOPT_URL, item_.url.c_str());
  set_option(easy, CURLOPT_PROTOCOLS_STR, protocols);
  set_option(easy, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  set_option(easy, CURLOPT_FOLLOWLOCATION, 1L);
  set_option(easy, CURLOPT_MAXREDIRS, options.max_redirects);
  set_option(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  set_option(easy, CURLOPT_PIPEWAIT, 1L);
  set_option(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  set_option(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  set_option(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (options.ca_file) set_option(easy, CURLOPT_CAINFO, options.ca_file->c_str());
  if (options.proxy) set_option(easy, CURLOPT_PROXY, options.proxy->c_str());
  if (options.no_proxy) set_option(easy, CURLOPT_NOPROXY, options.no_proxy->c_str());
  set_option(easy, CURLOPT_NOSIGNAL, 1L);
  // Fewer, larger writes and hash updates than libcurl's 16 KiB default.
  set_option(easy, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  set_option(easy, CURLOPT_USERAGENT, "os-image-composer/" OIC_VERSION);
  per_file_max_time_ = options.per_file_max_time;
  low_speed_time_ = options.low_speed_time;
  low_speed_limit_ = options.low_speed_limit;
  set_option(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  set_option(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.per_file_max_time.count()));
  set_option(easy, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_limit);
  set_option(easy, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.low_speed_time.count()));
  set_option(easy, CURLOPT_ERRORBUFFER, error_buffer_.data());
  set_option(easy, CURLOPT_PRIVATE, static_cast<void*>(this));
  set_option(easy, CURLOPT_WRITEFUNCTION, &Transfer::on_write);
  set_option(easy, CURLOPT_WRITEDATA, static_cast<void*>(this));
  set_option(easy, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  set_option(easy, CURLOPT_HEADERDATA, static_cast<void*>(this));
  // CURLOPT_RANGE rather than RESUME_FROM: libcurl would fail on a 200 answer,
  // where we restart from zero ourselves.
  if (offset_ > 0) {
    range_ = std::to_string(offset_) + "-";
    set_option(easy, CURLOPT_RANGE, range_.c_str());
  }
}

std::size_t Transfer::on_header(char* data, std::size_t size, std::size_t count, void* self) {
  auto& t = *static_cast<Transfer*>(self);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect): forget the last one
    t.range_start_.reset();
    t.retry_after_.reset();
  } else if (starts_with_nocase(line, "content-range:")) {
    t.range_start_ = parse_content_range_start(line.substr(14));
  } else if (starts_with_nocase(line, "retry-after:")) {
    t.retry_after_ = parse_retry_after(line.substr(12));
  }
  return size * count;
}

std::size_t Transfer::on_write(char* data, std::size_t size, std::size_t count, void* self) {
  auto& t = *static_cast<Transfer*>(self);
  return t.write_body(data, size * count) ? size * count : 0;
}

void Transfer::check_status_once() {
  if (status_checked_) return;
  status_checked_ = true;
  curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status_);
  if (status_ < 200 || status_ > 299) {
    discard_body_ = true;
  } else if (offset_ == 0 && status_ == 206) {
    abort_ = Abort{AttemptOutcome::Kind::kRetry, "server sent a partial response to a full request", true};
  } else if (offset_ > 0 && status_ == 200) {
    restart_from_zero();  // the server ignored Range and sends the whole file
  } else if (offset_ > 0 && range_start_ != offset_) {
    abort_ = Abort{AttemptOutcome::Kind::kRetry,
                   "server answered Range bytes=" + std::to_string(offset_) +
                       "- without a matching Content-Range",
                   true};
  }
}

void Transfer::restart_from_zero() {
  base::check_syscall(::ftruncate(part_fd_.get(), 0), "truncate", part_path_.string());
  hash_.reset();
  offset_ = 0;
  written_ = 0;
  resumed_ = false;
}

bool Transfer::write_body(const char* data, std::size_t size) {
  check_status_once();
  if (abort_) return false;
  if (discard_body_) return true;
  received_ += size;
  if (item_.size && written_ + size > *item_.size) {
    abort_ = Abort{AttemptOutcome::Kind::kFatal,
                   "server sent more than the expected " + std::to_string(*item_.size) + " bytes", true};
    return false;
  }
  if (!item_.size && item_.max_size && written_ + size > *item_.max_size) {
    abort_ = Abort{AttemptOutcome::Kind::kFatal,
                   "larger than the cap of " + std::to_string(*item_.max_size) + " bytes for this kind of file", true};
    return false;
  }
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::pwrite(part_fd_.get(), data + done, size - done, static_cast<off_t>(written_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      abort_ = Abort{AttemptOutcome::Kind::kFatal,
                     "cannot write '" + part_path_.string() + "': " + std::strerror(errno), false};
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  hash_.update(data, size);
  written_ += size;
  return true;
}

AttemptOutcome Transfer::finish(CURLcode code) {
  AttemptOutcome outcome = classify(code);
  if (outcome.kind != AttemptOutcome::Kind::kDone) settle_partial(false);
  return outcome;
}

std::string Transfer::timeout_reason() const {
  // libcurl says which limit it hit only in its message: "Operation too slow"
  // for the low-speed limit, "Operation timed out" for CURLOPT_TIMEOUT, and
  // something about connecting for the connect timeout.
  const std::string_view detail = error_buffer_.c_str();
  if (detail.starts_with("Operation too slow")) {
    return "stalled: under " + std::to_string(low_speed_limit_) + " bytes/s for " +
           std::to_string(low_speed_time_.count()) + " s";
  }
  if (per_file_max_time_.count() > 0 && detail.starts_with("Operation timed out")) {
    const auto ms = per_file_max_time_.count();
    const std::string limit = ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
    return "per-file time limit of " + limit + " reached";
  }
  return "timed out";
}

AttemptOutcome Transfer::classify(CURLcode code) {
  using Kind = AttemptOutcome::Kind;
  if (abort_) return discard_if(abort_->discard_partial, {abort_->kind, abort_->reason});
  if (code != CURLE_OK) {
    std::string reason = std::string("curl: ") + curl_easy_strerror(code);
    if (error_buffer_[0] != '\0') reason.append(": ").append(error_buffer_.c_str());
    if (code == CURLE_OPERATION_TIMEDOUT) reason = timeout_reason() + " (" + reason + ")";
    return {is_retryable_curl_code(code) ? Kind::kRetry : Kind::kFatal, std::move(reason)};
  }
  check_status_once();  // an empty body never reached on_write
  if (abort_) return discard_if(abort_->discard_partial, {abort_->kind, abort_->reason});
  if (status_ < 200 || status_ > 299) {
    const std::string reason = "HTTP " + std::to_string(status_);
    if (status_ == 416 && offset_ > 0) return discard_if(true, {Kind::kRetry, reason});
    if (!is_retryable_http_status(status_)) return {Kind::kFatal, reason};
    AttemptOutcome outcome{Kind::kRetry, reason};
    if (retry_after_) outcome.retry_after = *retry_after_;
    return outcome;
  }
  if (item_.size && written_ != *item_.size) {
    return {Kind::kRetry,
            "received " + std::to_string(written_) + " bytes, expected " + std::to_string(*item_.size)};
  }
  return commit_file();
}

AttemptOutcome Transfer::commit_file() {
  using Kind = AttemptOutcome::Kind;
  std::string digest = hash_.finish_hex();
  if (item_.sha256 && digest != *item_.sha256) {
    // A resumed prefix may predate a change on the mirror: one more try from zero.
    return discard_if(true, {resumed_ ? Kind::kRetry : Kind::kFatal,
                             "sha256 is " + digest + ", expected " + *item_.sha256});
  }
  // No fsync: every file is verified again by hash before it is used, and
  // the cache re-hashes each object before each use, so one torn by a crash
  // is fetched again, never used. Syncing 100s of files one by one cost more
  // than the downloads.
  const std::string part = part_path_.string();
  base::check_syscall(::renameat(dir_fd_, part.c_str(), dir_fd_, item_.dest.c_str()), "rename", part);
  part_fd_.reset();
  AttemptOutcome outcome{Kind::kDone, {}};
  outcome.sha256 = std::move(digest);
  outcome.size = written_;
  return outcome;
}

AttemptOutcome Transfer::discard_if(bool discard, AttemptOutcome outcome) {
  if (discard) settle_partial(true);
  return outcome;
}

void Transfer::settle_partial(bool discard) {
  if (discard || written_ == 0) {
    ::unlinkat(dir_fd_, part_path_.c_str(), 0);
    written_ = 0;
  }
  part_fd_.reset();
}

}  // namespace stage::fetcher
