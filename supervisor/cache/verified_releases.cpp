#include "supervisor/cache/verified_releases.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <nlohmann/json.hpp>

#include "base/file_write.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {
namespace {

using nlohmann::json;
namespace verifier_client = stage::verifier::client;

constexpr int kFormat = 1;
constexpr std::size_t kMaxFileBytes = 4 << 20;  // 32 records of a few KB each

// The file's text, or "" when it is missing, unreadable or oversized.
std::string read_small_file(const std::filesystem::path& file) {
  base::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return {};
  std::string text;
  char buffer[16384];
  for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || text.size() + static_cast<std::size_t>(n) > kMaxFileBytes) return {};
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

json file_to_json(const verifier_client::ListedFile& f) {
  return {{"kind", f.kind}, {"path", f.relative_path}, {"sha256", f.sha256}, {"size", f.size},
          {"uncompressedSha256", f.uncompressed_sha256}, {"uncompressedSize", f.uncompressed_size}};
}

verifier_client::ListedFile file_from_json(const json& j) {
  return {.kind = j.at("kind"), .relative_path = j.at("path"), .sha256 = j.at("sha256"), .size = j.at("size"),
          .uncompressed_sha256 = j.at("uncompressedSha256"), .uncompressed_size = j.at("uncompressedSize")};
}

json repo_to_json(const verifier_client::VerifiedRepo& r) {
  json files = json::array();
  for (const auto& f : r.listed_files) files.push_back(file_to_json(f));
  return {{"signer", r.signer_fingerprint}, {"date", r.date}, {"validUntil", r.valid_until},
          {"suite", r.suite}, {"codename", r.codename}, {"acquireByHash", r.acquire_by_hash}, {"files", files}};
}

verifier_client::VerifiedRepo repo_from_json(const json& j) {
  verifier_client::VerifiedRepo r{.signer_fingerprint = j.at("signer"), .date = j.at("date"),
                                  .valid_until = j.at("validUntil"), .suite = j.at("suite"),
                                  .codename = j.at("codename"), .acquire_by_hash = j.at("acquireByHash")};
  for (const auto& f : j.at("files")) r.listed_files.push_back(file_from_json(f));
  return r;
}

}  // namespace

VerifiedReleases::VerifiedReleases(std::filesystem::path file) : file_(std::move(file)) {
  const std::string text = read_small_file(file_);
  if (text.empty()) return;
  try {
    const json root = json::parse(text);
    if (root.at("format") != kFormat) return;
    for (const auto& record : root.at("records")) {
      if (records_.size() == kMaxRecords) break;
      records_.push_back({record.at("key"), repo_from_json(record.at("release"))});
    }
  } catch (const json::exception&) {
    records_.clear();
  }
}

std::optional<verifier_client::VerifiedRepo> VerifiedReleases::recall(const std::string& key,
                                                                      std::int64_t now) const {
  const auto found = std::find_if(records_.begin(), records_.end(), [&](const Record& r) { return r.key == key; });
  if (found == records_.end()) return std::nullopt;
  if (found->verified.valid_until >= 0 && found->verified.valid_until < now) return std::nullopt;
  return found->verified;
}

void VerifiedReleases::remember(const std::string& key, const verifier_client::VerifiedRepo& verified,
                                const std::vector<std::string>& kept_paths) {
  std::erase_if(records_, [&](const Record& r) { return r.key == key; });
  Record record{key, verified};
  std::erase_if(record.verified.listed_files, [&](const verifier_client::ListedFile& f) {
    return std::find(kept_paths.begin(), kept_paths.end(), f.relative_path) == kept_paths.end();
  });
  records_.insert(records_.begin(), std::move(record));
  if (records_.size() > kMaxRecords) records_.resize(kMaxRecords);
}

void VerifiedReleases::save() const {
  json records = json::array();
  for (const Record& r : records_) records.push_back({{"key", r.key}, {"release", repo_to_json(r.verified)}});
  base::write_file_replacing(file_.string(), json{{"format", kFormat}, {"records", records}}.dump() + "\n", 0600);
}

}  // namespace supervisor
