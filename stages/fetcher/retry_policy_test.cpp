#include "stages/fetcher/retry_policy.hpp"

#include <curl/curl.h>
#include <gtest/gtest.h>

namespace stage::fetcher {
namespace {

TEST(RetryPolicy, RetriesOnlyTransientTransportFailures) {
  struct Case {
    const char* name;
    CURLcode code;
    bool retry;
  };
  const Case cases[] = {
      {"timeout or stall", CURLE_OPERATION_TIMEDOUT, true},
      {"connection reset", CURLE_RECV_ERROR, true},
      {"body shorter than Content-Length", CURLE_PARTIAL_FILE, true},
      {"server closed without answering", CURLE_GOT_NOTHING, true},
      {"mirror restarting", CURLE_COULDNT_CONNECT, true},
      {"certificate not trusted: never retried", CURLE_PEER_FAILED_VERIFICATION, false},
      {"https redirected to http: refused, not retried", CURLE_UNSUPPORTED_PROTOCOL, false},
      {"too many redirects", CURLE_TOO_MANY_REDIRECTS, false},
      {"local disk full", CURLE_WRITE_ERROR, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(is_retryable_curl_code(c.code), c.retry);
  }
}

TEST(RetryPolicy, RetriesServerErrorsAndThrottlingButNotClientErrors) {
  struct Case {
    long status;
    bool retry;
  };
  const Case cases[] = {
      {500, true}, {502, true}, {503, true}, {599, true},  // server side
      {408, true}, {425, true}, {429, true},               // timeouts and throttling
      {400, false}, {403, false}, {404, false}, {410, false}, {416, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.status);
    EXPECT_EQ(is_retryable_http_status(c.status), c.retry);
  }
}

TEST(RetryPolicy, BackoffDoublesPerAttemptAndStopsAtTheCap) {
  DownloadOptions options;
  options.backoff_initial = std::chrono::milliseconds(100);
  options.backoff_max = std::chrono::milliseconds(1000);
  // jitter 1 keeps the full delay.
  EXPECT_EQ(backoff_delay(2, options, 1.0).count(), 100);
  EXPECT_EQ(backoff_delay(3, options, 1.0).count(), 200);
  EXPECT_EQ(backoff_delay(4, options, 1.0).count(), 400);
  EXPECT_EQ(backoff_delay(6, options, 1.0).count(), 1000);
  EXPECT_EQ(backoff_delay(60, options, 1.0).count(), 1000);
}

TEST(RetryPolicy, JitterScalesTheDelayBetweenHalfAndFull) {
  DownloadOptions options;
  options.backoff_initial = std::chrono::milliseconds(400);
  EXPECT_EQ(backoff_delay(2, options, 0.0).count(), 200);
  EXPECT_EQ(backoff_delay(2, options, 0.5).count(), 300);
  EXPECT_EQ(backoff_delay(2, options, 7.0).count(), 400);  // out-of-range jitter is clamped
}

TEST(RetryPolicy, ParsesRetryAfterSecondsOnly) {
  EXPECT_EQ(parse_retry_after(" 7\r\n"), std::chrono::seconds(7));
  EXPECT_EQ(parse_retry_after("0"), std::chrono::seconds(0));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_retry_after("-3"), std::nullopt);
  EXPECT_EQ(parse_retry_after(""), std::nullopt);
}

}  // namespace
}  // namespace stage::fetcher
