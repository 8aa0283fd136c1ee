// What earlier builds accepted from each repository, kept in the package
// cache's root, where no stage can write: the newest Release Date (a mirror
// serving an older one is rolling the archive back) and, for a key fetched
// over the network with no pinned fingerprint, the fingerprint trusted on
// its first use. One JSON file; a repository is its URL and suite.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace supervisor {

struct RepositoryRecord {
  std::int64_t release_date = 0;   // unix time of the newest Date accepted
  std::string first_use_signer;    // fingerprint trusted on first use, or empty
};

class RepositoryTrust {
 public:
  // Reads `file` when it exists; a malformed file is an error naming it.
  explicit RepositoryTrust(std::filesystem::path file);

  // Throws base::Error (kInvalidInput) when `date` is older than the one an
  // earlier build accepted for `repository`; otherwise records the newer.
  void accept_release_date(const std::string& repository, const std::string& name, std::int64_t date);

  // For a repository whose key came over the network without a pinned
  // fingerprint. First use: records `fingerprint` and returns a warning that
  // prints it. Later: throws base::Error (kInvalidInput) when it differs.
  std::optional<std::string> accept_first_use_signer(const std::string& repository, const std::string& name,
                                                     const std::string& fingerprint);

  // Written to a new temporary file (O_EXCL|O_NOFOLLOW) beside the file, then renamed over it.
  void save() const;

  const std::map<std::string, RepositoryRecord>& records() const noexcept { return records_; }

 private:
  std::filesystem::path file_;
  std::map<std::string, RepositoryRecord> records_;
};

// The record key of a repository: "<base URL> <suite>".
std::string repository_identity(const std::string& base_url, const std::string& suite);

}  // namespace supervisor
