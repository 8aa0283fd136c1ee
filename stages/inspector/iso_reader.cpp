#include "stages/inspector/iso_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "stages/fetcher/sha256.hpp"
#include "stages/inspector/file_manifest.hpp"

namespace stage::inspector {
namespace {

constexpr off_t kVolumeDescriptorAt = 32768;
constexpr std::uint32_t kIsoBlock = 2048;
// install/*.json and config/*.json: the installer's manifest and the lockfile it names.
constexpr std::size_t kMaxInstallText = 16 << 20;
constexpr std::size_t kMaxInstallTexts = 16;

using Archive = std::unique_ptr<archive, decltype(&archive_read_free)>;

[[noreturn]] void bad_medium(const std::string& name, const std::string& why) {
  base::fail(base::ErrorKind::kInvalidInput, "Failed to read the ISO 9660 medium '" + name + "': " + why);
}

// The primary volume descriptor: the volume identifier (bytes 40-71, space
// padded) and the volume space size in blocks (bytes 80-83, little endian).
PartitionTable read_volume(int fd, const std::string& name) {
  unsigned char pvd[2048];
  const ssize_t n = ::pread(fd, pvd, sizeof pvd, kVolumeDescriptorAt);
  if (n != static_cast<ssize_t>(sizeof pvd)) bad_medium(name, "its primary volume descriptor is cut short");
  std::string id(reinterpret_cast<const char*>(pvd + 40), 32);
  id.erase(id.find_last_not_of(' ') + 1);
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      bad_medium(name, "its volume identifier holds a byte that is not printable ASCII");
    }
  }
  const std::uint64_t blocks = pvd[80] | (pvd[81] << 8) | (pvd[82] << 16) | (std::uint64_t{pvd[83]} << 24);
  return {.label = "iso9660", .id = id, .sector_size = kIsoBlock, .first_lba = 0,
          .last_lba = blocks == 0 ? 0 : blocks - 1};
}

std::string type_of(archive_entry* entry) {
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return "regular";
    case AE_IFDIR: return "directory";
    case AE_IFLNK: return "symlink";
    case AE_IFCHR: return "char";
    case AE_IFBLK: return "block";
    case AE_IFIFO: return "fifo";
    case AE_IFSOCK: return "socket";
    default: return "";
  }
}

// "/boot/grub/grub.cfg" for libarchive's "boot/grub/grub.cfg" or "./boot/...".
std::string medium_path(const char* raw, const std::string& name) {
  if (raw == nullptr) bad_medium(name, "an entry has no name");
  std::string path(raw);
  if (path.rfind("./", 0) == 0) path.erase(0, 2);
  while (!path.empty() && path.back() == '/') path.pop_back();
  const bool bad = path.find('\n') != std::string::npos || path.find("//") != std::string::npos ||
                   path == ".." || path.rfind("../", 0) == 0 || path.find("/../") != std::string::npos;
  if (bad) bad_medium(name, "an entry's name '" + path + "' is not a plain path");
  return "/" + path;
}

// What the walk keeps of an entry's data: its hash, and its text when asked.
struct EntryData {
  std::string sha256;
  std::string text;
};

EntryData read_data(archive* a, std::uint64_t size, bool hash, std::size_t keep, const std::string& path,
                    const std::string& name) {
  EntryData data;
  if (!hash && keep == 0) {
    archive_read_data_skip(a);
    return data;
  }
  fetcher::Sha256 sha;
  char buffer[64 * 1024];
  std::uint64_t total = 0;
  for (;;) {
    const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
    if (n < 0) bad_medium(name, "reading " + path + ": " + (archive_error_string(a) ? archive_error_string(a) : "?"));
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
    if (hash) sha.update(buffer, static_cast<std::size_t>(n));
    if (data.text.size() < keep) data.text.append(buffer, std::min<std::size_t>(static_cast<std::size_t>(n), keep - data.text.size()));
  }
  if (total != size) bad_medium(name, path + " holds " + std::to_string(total) + " bytes, its entry says " + std::to_string(size));
  if (hash) data.sha256 = sha.finish_hex();
  return data;
}

bool is_install_json(const std::string& path) {
  for (const std::string dir : {"/install/", "/config/"}) {
    if (path.rfind(dir, 0) == 0 && ends_with(path, ".json") && path.find('/', dir.size()) == std::string::npos) {
      return true;
    }
  }
  return false;
}

struct Walk {
  std::map<std::string, std::string> install_texts;  // path -> text
  std::map<std::string, std::pair<std::uint64_t, std::string>> hashed;  // path -> size, sha256 (hard links)
};

void read_entry(archive* a, archive_entry* entry, const std::string& name, const ReadOptions& options,
                ManifestBudget& budget, Walk& walk, Report& report) {
  const std::string path = medium_path(archive_entry_pathname(entry), name);
  const std::string type = type_of(entry);
  if (type.empty()) bad_medium(name, path + " is of an unknown file type");
  FileEntry file{.partition = 0, .path = path, .type = type,
                 .mode = static_cast<std::uint32_t>(archive_entry_perm(entry) & 07777),
                 .uid = static_cast<std::uint32_t>(archive_entry_uid(entry)),
                 .gid = static_cast<std::uint32_t>(archive_entry_gid(entry))};
  if (type == "symlink" && archive_entry_symlink(entry) != nullptr) file.link_target = archive_entry_symlink(entry);
  const char* hardlink = archive_entry_hardlink(entry);
  if (type == "regular" && hardlink != nullptr) {
    // The same extent as an earlier entry: its size and hash are that one's.
    const auto earlier = walk.hashed.find(medium_path(hardlink, name));
    if (earlier != walk.hashed.end()) std::tie(file.size, file.sha256) = earlier->second;
    archive_read_data_skip(a);
  } else if (type == "regular") {
    const std::uint64_t size = static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(entry), 0));
    file.size = size;
    const bool config = is_boot_config(path);
    const bool install = is_install_json(path) && size <= kMaxInstallText && walk.install_texts.size() < kMaxInstallTexts;
    if (config) base::require(size <= kMaxConfigBytes, "Failed to read " + path + " in '" + name + "': larger than 1 MiB");
    const bool hash = options.list_files && size <= kMaxHashedFileBytes;
    EntryData data = read_data(a, size, hash, config || install ? size : 0, path, name);
    file.sha256 = data.sha256;
    walk.hashed[path] = {file.size, file.sha256};
    if (config) add_config(report, 0, path, std::move(data.text));
    else if (install) walk.install_texts[path] = std::move(data.text);
    if (lower(path).rfind("/efi/", 0) == 0) report.boot_files.push_back({0, path});
  } else {
    archive_read_data_skip(a);
  }
  if (options.list_files) {
    budget.add(file, "'" + name + "'");
    report.files.push_back(std::move(file));
  }
}

// The packages of the lockfile the installer manifest names, when there is one.
void read_install_packages(const Walk& walk, const std::string& name, Report& report) {
  const auto manifest = walk.install_texts.find("/install/manifest.json");
  if (manifest == walk.install_texts.end()) return;
  const std::string where = "/install/manifest.json in '" + name + "'";
  const std::string lockfile = manifest_lockfile_path(manifest->second, where);
  if (lockfile.empty()) return;
  const auto lock = walk.install_texts.find("/" + lockfile);
  if (lock == walk.install_texts.end()) {
    bad_medium(name, "/install/manifest.json names the lockfile " + lockfile + ", which is not on the medium");
  }
  report.packages = lockfile_packages(lock->second, lock->first + " in '" + name + "'");
}

}  // namespace

bool is_iso9660(int image_fd) {
  unsigned char head[6];
  if (::pread(image_fd, head, sizeof head, kVolumeDescriptorAt) != static_cast<ssize_t>(sizeof head)) return false;
  return head[0] == 1 && std::equal(head + 1, head + 6, "CD001");
}

std::vector<Package> lockfile_packages(const std::string& text, const std::string& where) {
  const nlohmann::json lock = nlohmann::json::parse(text, nullptr, false);
  if (!lock.is_object() || !lock.contains("packages") || !lock["packages"].is_array()) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read the packages of " + where + ": it is no lockfile");
  }
  std::vector<Package> packages;
  for (const nlohmann::json& p : lock["packages"]) {
    const bool ok = p.is_object() && p.contains("name") && p["name"].is_string() && p.contains("version") &&
                    p["version"].is_string() && p.contains("architecture") && p["architecture"].is_string();
    if (!ok) base::fail(base::ErrorKind::kInvalidInput, "Failed to read the packages of " + where + ": an entry lacks its name, version or architecture");
    packages.push_back({p["name"], p["version"], p["architecture"]});
  }
  std::sort(packages.begin(), packages.end(), [](const Package& a, const Package& b) { return a.name < b.name; });
  return packages;
}

std::string manifest_lockfile_path(const std::string& text, const std::string& where) {
  const nlohmann::json manifest = nlohmann::json::parse(text, nullptr, false);
  if (!manifest.is_object()) base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + where + ": it is not a JSON object");
  if (!manifest.contains("lockfile")) return {};
  const nlohmann::json& lockfile = manifest["lockfile"];
  if (!lockfile.is_object() || !lockfile.contains("path") || !lockfile["path"].is_string()) {
    base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + where + ": lockfile.path is not a string");
  }
  const std::string path = lockfile["path"];
  const bool plain = !path.empty() && path.front() != '/' && path.find("..") == std::string::npos &&
                     path.find("//") == std::string::npos && path.find('\n') == std::string::npos;
  if (!plain) base::fail(base::ErrorKind::kInvalidInput, "Failed to read " + where + ": lockfile.path '" + path + "' is not a plain path of the medium");
  return path;
}

Report read_iso(int image_fd, const std::string& name, const ReadProgress& progress, const ReadOptions& options) {
  if (progress.report) progress.report("volume", name);
  Report report;
  report.table = read_volume(image_fd, name);
  base::check_syscall(::lseek(image_fd, 0, SEEK_SET), "rewind", name);
  Archive a(archive_read_new(), archive_read_free);
  base::require(a != nullptr, "Failed to read '" + name + "': libarchive could not start");
  archive_read_support_format_iso9660(a.get());
  if (archive_read_open_fd(a.get(), image_fd, 64 * 1024) != ARCHIVE_OK) {
    bad_medium(name, archive_error_string(a.get()) ? archive_error_string(a.get()) : "libarchive could not open it");
  }
  if (progress.report) progress.report("files", name);
  ManifestBudget budget;
  Walk walk;
  for (;;) {
    archive_entry* entry = nullptr;
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) bad_medium(name, archive_error_string(a.get()) ? archive_error_string(a.get()) : "a bad entry");
    read_entry(a.get(), entry, name, options, budget, walk, report);
  }
  read_install_packages(walk, name, report);
  std::sort(report.files.begin(), report.files.end(), [](const FileEntry& x, const FileEntry& y) { return x.path < y.path; });
  std::sort(report.boot_files.begin(), report.boot_files.end(), [](const BootFile& x, const BootFile& y) { return x.path < y.path; });
  return report;
}

}  // namespace stage::inspector
