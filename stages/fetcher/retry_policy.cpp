#include "stages/fetcher/retry_policy.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>

namespace stage::fetcher {

bool is_retryable_curl_code(int curl_code) noexcept {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
      return true;
    default:
      return false;
  }
}

bool is_retryable_http_status(long status) noexcept {
  return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
}

std::chrono::milliseconds backoff_delay(unsigned next_attempt, const DownloadOptions& options,
                                        double jitter) noexcept {
  const unsigned doublings = std::min(next_attempt < 2 ? 0u : next_attempt - 2, 20u);
  const auto base = std::min<long long>(options.backoff_initial.count() << doublings,
                                        options.backoff_max.count());
  const double scale = 0.5 + std::clamp(jitter, 0.0, 1.0) / 2;
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(base) * scale));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) noexcept {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r' || value.back() == '\n')) {
    value.remove_suffix(1);
  }
  long long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

}  // namespace stage::fetcher
