// One attempt at one DownloadItem: a libcurl easy handle that streams the body
// into "<dest>.part" (continuing an existing prefix with a Range request),
// hashes it on the way, and on success renames it to dest.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "base/unique_fd.hpp"
#include "stages/fetcher/download.hpp"
#include "stages/fetcher/sha256.hpp"

namespace stage::fetcher {

struct AttemptOutcome {
  enum class Kind { kDone, kRetry, kFatal };
  Kind kind = Kind::kFatal;
  std::string reason;                                  // "HTTP 503", "curl: Timeout was reached: …"
  std::optional<std::chrono::milliseconds> retry_after;
  std::string sha256;                                  // when kDone
  std::uint64_t size = 0;                              // when kDone
};

class Transfer {
 public:
  Transfer(const DownloadItem& item, const DownloadOptions& options);
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  CURL* handle() const noexcept { return easy_.get(); }
  // Bytes of the file on disk so far, the resumed prefix included.
  std::uint64_t bytes_on_disk() const noexcept { return written_; }
  // Bytes received from the network by this attempt.
  std::uint64_t bytes_received() const noexcept { return received_; }
  bool resumed() const noexcept { return resumed_; }

  // Classifies the finished attempt and settles the files: dest on success;
  // the .part kept for resume or removed (see download_all).
  AttemptOutcome finish(CURLcode code);
  // Ends an attempt that was cut off (total time limit): the .part stays for resume.
  void abandon() { settle_partial(false); }

 private:
  struct EasyDeleter {
    void operator()(CURL* easy) const noexcept { curl_easy_cleanup(easy); }
  };
  struct Abort {
    AttemptOutcome::Kind kind;
    std::string reason;
    bool discard_partial;
  };

  static std::size_t on_write(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);
  void open_partial();
  void configure(const DownloadOptions& options);
  bool write_body(const char* data, std::size_t size);
  void check_status_once();
  void restart_from_zero();
  AttemptOutcome classify(CURLcode code);
  // Which of the time limits ended this attempt, in words.
  std::string timeout_reason() const;
  AttemptOutcome discard_if(bool discard, AttemptOutcome outcome);
  // Removes the .part when told to or when it is empty; keeps it for resume otherwise.
  void settle_partial(bool discard);
  AttemptOutcome commit_file();

  const DownloadItem& item_;
  int dir_fd_;
  std::filesystem::path part_path_;
  std::unique_ptr<CURL, EasyDeleter> easy_;
  base::UniqueFd part_fd_;
  Sha256 hash_;
  std::uint64_t offset_ = 0;    // the prefix this attempt asked the server to continue
  std::uint64_t written_ = 0;
  std::uint64_t received_ = 0;
  bool resumed_ = false;
  bool status_checked_ = false;
  bool discard_body_ = false;   // an error page: never written to the file
  long status_ = 0;
  std::optional<std::uint64_t> range_start_;
  std::optional<std::chrono::seconds> retry_after_;
  std::optional<Abort> abort_;
  std::string error_buffer_;
  std::string range_;
  std::chrono::milliseconds per_file_max_time_{0};  // 0 = unlimited
  std::chrono::seconds low_speed_time_{0};
  long low_speed_limit_ = 0;
};

}  // namespace stage::fetcher
