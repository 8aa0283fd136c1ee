// The fetcher's download engine: many files in parallel over one libcurl
// multi handle, each streamed to "<dest>.part", hashed on the way, and renamed
// to <dest> only when its size and SHA-256 match what the caller expected.
#pragma once

#include <fcntl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace stage::fetcher {

// What anchors a download's content, for the plain http warning: a plain
// http download is allowed for all three (the request allows it), but only the
// first is checked against a signature.
enum class CheckedBy {
  kSignature,          // a signature, or a hash from signed metadata
  kPackageSignatures,  // unsigned metadata; only the packages' own signatures
  kNothing,            // a repository marked trusted
};

struct DownloadItem {
  std::string url;                     // https://…, or http://… when signature_checked
  std::filesystem::path dest;          // final name; the body streams to dest + ".part"
  std::optional<std::string> sha256;   // lowercase hex; checked before the rename
  std::optional<std::uint64_t> size;   // bytes; a body longer than this is refused early
  // The content is authenticated by a signature (a repository index, or a
  // package whose sha256 comes from a signed index), so plain http is allowed.
  bool signature_checked = false;
  // Bytes; when `size` is unknown (an index, a key, an InRelease), a body
  // longer than this is refused as soon as it passes the cap.
  std::optional<std::uint64_t> max_size;
  CheckedBy checked_by = CheckedBy::kSignature;  // named in the plain http warning
};

struct DownloadOptions {
  // Relative dest paths resolve against this directory (openat), so a
  // sandboxed stage can write into a directory it was handed as an fd.
  int dest_dir_fd = AT_FDCWD;
  unsigned workers = 4;                               // parallel transfers
  unsigned max_attempts = 3;                          // per file, first try included
  std::chrono::milliseconds backoff_initial{500};     // doubled per attempt, with jitter
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::milliseconds connect_timeout{30'000};
  std::chrono::milliseconds per_file_max_time{0};     // one attempt; 0 = unlimited
  long low_speed_limit = 1024;                        // bytes/s; slower than this for
  std::chrono::seconds low_speed_time{30};            // this long aborts the attempt
  std::chrono::milliseconds total_time_limit{0};      // the whole batch; 0 = unlimited
  long max_redirects = 5;
  std::optional<std::string> ca_file;                 // unset: the system CA store
  // Unset: libcurl reads http_proxy/https_proxy/no_proxy from the environment.
  std::optional<std::string> proxy;
  std::optional<std::string> no_proxy;
};

struct Progress {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;   // sum of the known sizes
  std::size_t files_done = 0;      // finished, successfully or not
  std::size_t files_total = 0;
  double bytes_per_second = 0;     // received in this run / elapsed
};

struct DownloadCallbacks {
  std::function<void(const Progress&)> on_progress;    // at most ~5 times a second
  std::function<void(std::string_view)> on_warning;
  // Polled a few times a second; true aborts every transfer as the total
  // time limit does, and download_all returns at once.
  std::function<bool()> cancelled;
};

struct DownloadResult {
  std::string url;
  std::filesystem::path dest;
  bool ok = false;
  bool already_present = false;    // dest existed with the expected hash
  std::string sha256;              // of dest, when ok
  std::uint64_t size = 0;
  unsigned attempts = 0;
  unsigned resumes = 0;            // attempts that continued a partial file via Range
  std::string error;               // names the URL, HTTP status or curl error, attempts
  base::ErrorKind error_kind = base::ErrorKind::kFailed;
};

// Downloads every item; one failing file does not stop the others. Throws
// (kInvalidInput) before any transfer when an item is malformed or asks for
// plain http without being signature-checked.
//
// A failed file never appears under its final name. Its "<dest>.part" is kept
// when it holds a prefix that a later run can resume with a Range request
// (timeouts, truncation, server errors after some bytes), and removed when its
// content is known to be wrong (hash or size mismatch) or empty.
std::vector<DownloadResult> download_all(std::span<const DownloadItem> items,
                                         const DownloadOptions& options,
                                         const DownloadCallbacks& callbacks = {});

// Throws the first failure's error, saying how many files failed in all.
void check_all_downloaded(std::span<const DownloadResult> results);

}  // namespace stage::fetcher
