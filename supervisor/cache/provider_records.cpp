#include "supervisor/cache/provider_records.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::set<std::string> read_record(const fs::path& path) {
  std::set<std::string> hashes;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (is_sha256_hex(line)) hashes.insert(line);  // anything else is not ours: ignored
  }
  return hashes;
}

// Readers see the old record or the new one, never half of one.
void write_record(const fs::path& path, const std::set<std::string>& hashes) {
  std::ostringstream text;
  for (const std::string& h : hashes) text << h << "\n";
  base::write_file_replacing(path.string(), text.str(), 0644);
}

}  // namespace

bool is_provider_id(std::string_view id) {
  // The first character is alphanumeric: ".lock" and "." are never ids.
  return !id.empty() && std::isalnum(static_cast<unsigned char>(id.front())) && std::all_of(id.begin(), id.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
         });
}

fs::path provider_record_path(const fs::path& cache_dir, std::string_view provider_id) {
  base::require(is_provider_id(provider_id), "invalid provider id '" + std::string(provider_id) +
                                                 "' (expected os-dist-arch, e.g. debian-debian12-x86_64)");
  return cache_dir / "used-by" / std::string(provider_id);
}

void record_provider_use(const fs::path& cache_dir, std::string_view provider_id,
                         const std::vector<std::string>& sha256s) {
  const fs::path path = provider_record_path(cache_dir, provider_id);
  for (const std::string& h : sha256s) base::require(is_sha256_hex(h), "not a sha256 for the record: '" + h + "'");
  base::make_directories(path.parent_path());
  std::error_code ec;
  const fs::path lock_path = path.parent_path() / ".lock";
  base::UniqueFd lock(base::check_syscall(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600),
                                          "open", lock_path.string()));
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) base::check_syscall(-1, "lock", lock_path.string());
  }
  std::set<std::string> hashes = read_record(path);
  const std::size_t before = hashes.size();
  hashes.insert(sha256s.begin(), sha256s.end());
  if (hashes.size() != before || !fs::exists(path, ec)) write_record(path, hashes);
}

std::vector<std::string> read_provider_use(const fs::path& cache_dir, std::string_view provider_id) {
  const std::set<std::string> hashes = read_record(provider_record_path(cache_dir, provider_id));
  return {hashes.begin(), hashes.end()};
}

std::vector<std::string> objects_only_of(const fs::path& cache_dir, std::string_view provider_id) {
  std::set<std::string> mine = read_record(provider_record_path(cache_dir, provider_id));
  std::error_code ec;
  for (fs::directory_iterator it(cache_dir / "used-by", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string other = it->path().filename().string();
    if (other == provider_id || !is_provider_id(other) || other.find(".tmp-") != std::string::npos) continue;
    for (const std::string& h : read_record(it->path())) mine.erase(h);
  }
  return {mine.begin(), mine.end()};
}

}  // namespace supervisor
