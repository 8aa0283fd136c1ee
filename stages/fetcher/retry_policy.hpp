// Which failed attempts are worth repeating, and how long to wait first.
// Pure functions, so the policy is tested without a network.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "stages/fetcher/download.hpp"

namespace stage::fetcher {

// Transient transport failures: timeouts, resets, truncated bodies, refused
// connections (a mirror restarting). TLS verification failures are not.
bool is_retryable_curl_code(int curl_code) noexcept;

// 408 Request Timeout, 425 Too Early, 429 Too Many Requests, and any 5xx.
bool is_retryable_http_status(long status) noexcept;

// Delay before attempt `next_attempt` (2 = the first retry): backoff_initial
// doubled per attempt, capped at backoff_max, scaled by 0.5 + jitter / 2 so
// clients that failed together do not retry together. jitter is in [0, 1].
std::chrono::milliseconds backoff_delay(unsigned next_attempt, const DownloadOptions& options,
                                        double jitter) noexcept;

// The delta-seconds form of a Retry-After header value; HTTP dates are ignored.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) noexcept;

}  // namespace stage::fetcher
