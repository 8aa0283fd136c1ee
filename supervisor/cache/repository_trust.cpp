#include "supervisor/cache/repository_trust.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {
namespace {

using nlohmann::json;

std::string utc(std::int64_t unix_time) {
  const std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

[[noreturn]] void malformed(const std::filesystem::path& file, const std::string& what) {
  throw base::Error(base::ErrorKind::kInvalidInput, "Failed to read '" + file.string() + "': " + what)
      .with_hint("it records what earlier builds accepted from each repository; remove it to start afresh");
}

}  // namespace

std::string repository_identity(const std::string& base_url, const std::string& suite) {
  return base_url + " " + suite;
}

RepositoryTrust::RepositoryTrust(std::filesystem::path file) : file_(std::move(file)) {
  base::UniqueFd fd(::open(file_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return;
    malformed(file_, std::strerror(errno));
  }
  std::string text;
  char buffer[8192];
  for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) malformed(file_, std::strerror(errno));
    text.append(buffer, static_cast<std::size_t>(n));
  }
  try {
    const json root = json::parse(text);
    for (const auto& [key, value] : root.at("repositories").items()) {
      RepositoryRecord record;
      record.release_date = value.at("releaseDate").get<std::int64_t>();
      record.first_use_signer = value.value("firstUseSigner", "");
      records_[key] = record;
    }
  } catch (const json::exception& e) {
    malformed(file_, e.what());
  }
}

void RepositoryTrust::accept_release_date(const std::string& repository, const std::string& name,
                                          std::int64_t date) {
  RepositoryRecord& record = records_[repository];
  if (date < record.release_date) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "repository '" + name + "' (" + repository + "): its Release is dated " + utc(date) +
                         ", older than the " + utc(record.release_date) +
                         " an earlier build accepted: the mirror serves a rolled-back or stale archive")
        .with_hint("use an up-to-date mirror; if the older archive is intended, remove the repository from '" +
                   file_.string() + "'");
  }
  record.release_date = date;
}

std::optional<std::string> RepositoryTrust::accept_first_use_signer(const std::string& repository,
                                                                   const std::string& name,
                                                                   const std::string& fingerprint) {
  RepositoryRecord& record = records_[repository];
  if (record.first_use_signer.empty()) {
    record.first_use_signer = fingerprint;
    return "repository '" + name + "' (" + repository + "): trusting on first use the key " + fingerprint +
           ", fetched over the network with no pinned fingerprint; pin it with keyFingerprints once checked";
  }
  if (record.first_use_signer != fingerprint) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "repository '" + name + "' (" + repository + "): signed by key " + fingerprint +
                         ", but earlier builds trusted key " + record.first_use_signer)
        .with_hint("if the repository's owner changed its key, check the new one, pin it with keyFingerprints "
                   "and remove the repository from '" + file_.string() + "'");
  }
  return std::nullopt;
}

void RepositoryTrust::save() const {
  json repositories = json::object();
  for (const auto& [key, record] : records_) {
    json entry = {{"releaseDate", record.release_date}};
    if (!record.first_use_signer.empty()) entry["firstUseSigner"] = record.first_use_signer;
    repositories[key] = entry;
  }
  const std::string text = json{{"repositories", repositories}}.dump(2) + "\n";
  const std::filesystem::path temp = file_.string() + ".tmp-" + std::to_string(::getpid());
  base::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  base::check(static_cast<bool>(fd), "Failed to create '" + temp.string() + "': " + std::strerror(errno));
  const bool written = ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (!written || ::rename(temp.c_str(), file_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    throw base::Error(base::ErrorKind::kFailed, "Failed to write '" + file_.string() + "': " + why);
  }
}

}  // namespace supervisor
