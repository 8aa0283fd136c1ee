// The verifier's verdicts on repository metadata, kept in the package cache's
// root (where no stage can write) so a later lock of the same signed bytes
// with the same keys runs no GnuPG. A verdict is filed under a key the
// caller derives from everything the verifier's answer depends on (the
// signed file's bytes hash, the key files' hashes and pins, suite,
// architectures, components, indexes); the time it also depends on is
// Valid-Until, checked again on every use. Only the listed files a build
// reads are kept, so each record stays small. One JSON file, the newest
// kMaxRecords records.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stages/verifier/client.hpp"

namespace supervisor {

class VerifiedReleases {
 public:
  static constexpr std::size_t kMaxRecords = 32;

  // Reads `file` when it exists. A file that does not parse is not an error:
  // it only held verdicts, and the verifier gives them again.
  explicit VerifiedReleases(std::filesystem::path file);

  // The verdict filed under `key`, unless its Valid-Until is before `now`
  // (unix time): an expired Release goes back to the verifier, which says so.
  std::optional<stage::verifier::client::VerifiedRepo> recall(const std::string& key, std::int64_t now) const;

  // Files `verified` under `key` (replacing an older record of it), with
  // only the listed files named by `kept_paths`, as the newest record.
  void remember(const std::string& key, const stage::verifier::client::VerifiedRepo& verified,
                const std::vector<std::string>& kept_paths);

  // Written to a new temporary file (O_EXCL|O_NOFOLLOW) beside the file, then renamed over it.
  void save() const;

  std::size_t size() const noexcept { return records_.size(); }

 private:
  struct Record {
    std::string key;
    stage::verifier::client::VerifiedRepo verified;
  };
  std::filesystem::path file_;
  std::vector<Record> records_;  // newest first
};

}  // namespace supervisor
