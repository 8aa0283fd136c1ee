#include "supervisor/build/image_record.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <algorithm>
#include <cstring>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/cache/digest.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

constexpr int kRecordVersion = 1;

// What a changed part means to the person reading the log.
const std::map<std::string, std::string> kPartMeaning = {
    {"template", "the merged template changed"},
    {"packages", "the package set changed"},
    {"files", "an additional file changed"},
    {"programs", "os-image-composer or one of its stages changed"},
};

std::string file_digest(const fs::path& path) {
  try {
    return sha256_of_file(path);
  } catch (const base::Error&) {
    return "unreadable";
  }
}

std::string digest_of_files(const std::vector<fs::path>& paths, bool by_name) {
  std::string text;
  for (const fs::path& path : paths) {
    text += (by_name ? path.filename().string() : path.string()) + "\t" + file_digest(path) + "\n";
  }
  return sha256_hex(text);
}

// The output directory is the supervisor's, but a link there is followed by
// nothing it reads: a record or sums file that is not a plain file reads as
// empty, and a published file that is not one cannot be hashed.
base::UniqueFd open_plain_file(const fs::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (fd && (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))) fd.reset();
  return fd;
}

std::string read_text(const fs::path& path) {
  const base::UniqueFd fd = open_plain_file(path);
  std::string text;
  char buffer[1 << 16];
  for (ssize_t n; fd && (n = ::read(fd.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {};
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

std::string output_digest(const fs::path& path) {
  const base::UniqueFd fd = open_plain_file(path);
  if (!fd) return "unreadable";
  try {
    return sha256_of_fd(fd.get(), path.string());
  } catch (const base::Error&) {
    return "unreadable";
  }
}

std::int64_t nanoseconds(const timespec& t) { return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

struct FileStamp {
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
};

std::optional<FileStamp> stamp_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileStamp{st.st_ino, static_cast<std::uint64_t>(st.st_size), nanoseconds(st.st_mtim), nanoseconds(st.st_ctim)};
}

bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

OutputsCheck stale(std::string reason) { return OutputsCheck{.up_to_date = false, .reason = std::move(reason), .files = {}}; }

// The record's files, or a reason why they do not match the disk. A file
// whose inode, size, modification and change time are the recorded ones,
// and whose change time is older than the record, has not been written
// since (a write sets both times, and the change time cannot be set back),
// so, as git trusts its index, it is not read again. Any other file is
// re-hashed.
OutputsCheck check_files(const fs::path& dir, const nlohmann::json& recorded, std::int64_t record_mtime_ns) {
  OutputsCheck check;
  for (const auto& entry : recorded) {
    const std::string name = entry.at("name").get<std::string>();
    if (!plain_name(name)) return stale("the build record names a bad file '" + name + "'");
    const fs::path path = dir / name;
    const std::optional<FileStamp> now = stamp_of(path);
    if (!now) return stale(name + " is missing");
    const std::string sha256 = entry.at("sha256").get<std::string>();
    const bool untouched = now->inode == entry.at("inode").get<std::uint64_t>() &&
                           now->mtime_ns == entry.at("mtimeNs").get<std::int64_t>() &&
                           now->ctime_ns == entry.at("ctimeNs").get<std::int64_t>() &&
                           now->ctime_ns < record_mtime_ns;
    if (now->size != entry.at("size").get<std::uint64_t>() || (!untouched && output_digest(path) != sha256)) {
      return stale(name + " changed since it was built");
    }
    check.files.push_back({path, sha256, now->size});
  }
  if (read_text(dir / kChecksumFile) != sha256sums_text(check.files)) {
    return stale(std::string(kChecksumFile) + " does not list the recorded files");
  }
  check.up_to_date = true;
  return check;
}

// Sets `fd`'s modification time to now until it is later than `after_ns`:
// file times are taken from a coarse clock, and a record no newer than its
// files would make check_files() re-hash them every time.
void stamp_later_than(int fd, std::int64_t after_ns) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || nanoseconds(st.st_mtim) > after_ns) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ::futimens(fd, nullptr);
  }
}

}  // namespace

InputDigest digest_image_inputs(const ImageInputs& inputs) {
  InputDigest digest;
  digest.parts["template"] = sha256_hex(inputs.provider_id + "\n" + inputs.merged_template);
  digest.parts["packages"] = sha256_hex(inputs.lockfile);
  digest.parts["files"] = digest_of_files(inputs.host_files, false);
  digest.parts["programs"] = digest_of_files(inputs.programs, true);
  std::string all = "record " + std::to_string(kRecordVersion) + "\n";
  for (const auto& [part, value] : digest.parts) all += part + "\t" + value + "\n";
  digest.key = sha256_hex(all);
  return digest;
}

OutputsCheck check_outputs(const fs::path& dir, const InputDigest& digest) {
  const fs::path path = dir / kBuildRecordFile;
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) return stale("no earlier build is recorded in " + dir.string());
  try {
    const nlohmann::json record = nlohmann::json::parse(read_text(path));
    if (record.at("recordVersion").get<int>() != kRecordVersion) {
      return stale("the build record " + path.string() + " is of another version");
    }
    if (record.at("key").get<std::string>() != digest.key) {
      std::string changed;
      const auto& parts = record.at("inputs");
      for (const auto& [part, value] : digest.parts) {
        if (parts.contains(part) && parts.at(part).get<std::string>() == value) continue;
        const auto meaning = kPartMeaning.find(part);
        changed += (changed.empty() ? "" : ", ") + (meaning == kPartMeaning.end() ? part : meaning->second);
      }
      return stale(changed.empty() ? "the inputs changed" : changed);
    }
    const std::optional<FileStamp> own = stamp_of(path);
    return check_files(dir, record.at("files"), own ? own->mtime_ns : 0);
  } catch (const nlohmann::json::exception& e) {
    return stale("the build record " + path.string() + " is unreadable (" + e.what() + ")");
  }
}

void remove_build_record(const fs::path& dir) {
  std::error_code ec;
  fs::remove(dir / kBuildRecordFile, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw base::Error(base::ErrorKind::kFailed,
                     "Failed to remove '" + (dir / kBuildRecordFile).string() + "': " + ec.message());
  }
}

void write_build_record(const fs::path& dir, const InputDigest& digest, const std::vector<PublishedFile>& files) {
  nlohmann::json record = {{"recordVersion", kRecordVersion}, {"key", digest.key}, {"inputs", digest.parts}};
  nlohmann::json list = nlohmann::json::array();
  std::int64_t newest_ctime_ns = 0;
  for (const PublishedFile& f : files) {
    const std::optional<FileStamp> stamp = stamp_of(f.path);
    base::check(stamp.has_value(), "published file '" + f.path.string() + "' is not there");
    newest_ctime_ns = std::max(newest_ctime_ns, stamp->ctime_ns);
    list.push_back({{"name", f.path.filename().string()},
                    {"size", f.size},
                    {"sha256", f.sha256},
                    {"inode", stamp->inode},
                    {"mtimeNs", stamp->mtime_ns},
                    {"ctimeNs", stamp->ctime_ns}});
  }
  record["files"] = std::move(list);
  const std::string text = record.dump(1) + "\n";
  const fs::path final_path = dir / kBuildRecordFile;
  const fs::path temp = dir / (std::string(kBuildRecordFile) + ".tmp-" + std::to_string(::getpid()));
  auto fail = [&](const std::string& what) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw base::Error(base::ErrorKind::kFailed, "Failed to write '" + what + "': " + std::strerror(error));
  };
  // A new file, never one found under this name (a link is removed, not followed).
  if (::unlink(temp.c_str()) != 0 && errno != ENOENT) fail(temp.string());
  {
    base::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) fail(temp.string());
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) fail(temp.string());
    stamp_later_than(fd.get(), newest_ctime_ns);
  }
  if (::rename(temp.c_str(), final_path.c_str()) != 0) fail(final_path.string());
}

}  // namespace supervisor
