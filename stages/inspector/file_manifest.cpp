#include "stages/inspector/file_manifest.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "base/error.hpp"
#include "stages/fetcher/sha256.hpp"
#include "stages/inspector/debugfs_batch.hpp"
#include "stages/inspector/disk_text.hpp"

namespace stage::inspector {
namespace {

constexpr std::size_t kDirsPerBatch = 256;
constexpr std::size_t kLinksPerBatch = 1024;
constexpr std::size_t kFilesPerBatch = 4096;
constexpr std::uint64_t kBatchBytes = 64ULL << 20;   // file contents per debugfs process
constexpr std::size_t kMaxListingBytes = 64 << 20;   // `ls -p` or `stat` output per process
constexpr std::size_t kMaxPathBytes = 4096;
constexpr std::uint64_t kMaxLinkBytes = 4096;
constexpr std::uint32_t kRootInode = 2;

[[noreturn]] void bad(const std::string& what) { base::fail(base::ErrorKind::kInvalidInput, what); }

template <typename T>
T number(std::string_view field, int base, std::string_view line, const std::string& where) {
  T value{};
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value, base);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size()) {
    bad("Failed to read the listing of " + where + ": '" + std::string(line) + "' is no debugfs ls -p line");
  }
  return value;
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t at = 1;
  while (at < line.size()) {
    const std::size_t slash = line.find('/', at);
    fields.push_back(line.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at));
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return fields;
}

std::string sha256_hex(std::string_view bytes) {
  fetcher::Sha256 hash;
  hash.update(bytes.data(), bytes.size());
  return hash.finish_hex();
}

struct Dir {
  std::uint32_t inode;
  std::string path;
};

// An entry of the output whose bytes debugfs `cat` reads: a file to hash or a long link's target.
struct Content {
  std::size_t index;
  std::uint32_t inode;
  std::uint64_t size;
};

std::string request_for(const char* command, std::uint32_t inode) {
  return std::string(command) + " <" + std::to_string(inode) + ">";
}

// One ext2/3/4 file system's walk; its entries are appended to `out` and sorted at the end.
class ExtWalk {
 public:
  ExtWalk(int fd, std::uint64_t offset, std::uint32_t partition, const std::string& where, ManifestBudget& budget,
          std::vector<FileEntry>& out)
      : fd_(fd), offset_(offset), partition_(partition), where_(where), budget_(budget), out_(out), first_(out.size()) {}

  void run() {
    walk();
    read_links();
    read_contents();
    std::sort(out_.begin() + static_cast<std::ptrdiff_t>(first_), out_.end(),
              [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  }

 private:
  DebugfsBatchOutput batch(const std::vector<DebugfsRequest>& requests, std::size_t max_out) const {
    return run_debugfs_batch(fd_, offset_, requests, max_out, where_);
  }

  void walk() {
    std::vector<Dir> level = {{kRootInode, "/"}};
    seen_dirs_.insert(kRootInode);
    while (!level.empty()) {
      std::vector<Dir> next;
      for (std::size_t start = 0; start < level.size(); start += kDirsPerBatch) {
        const std::size_t end = std::min(level.size(), start + kDirsPerBatch);
        std::vector<DebugfsRequest> requests;
        for (std::size_t i = start; i < end; ++i) requests.push_back({request_for("ls -p", level[i].inode), {}});
        const DebugfsBatchOutput listings = batch(requests, kMaxListingBytes);
        for (std::size_t i = start; i < end; ++i) {
          const Dir& dir = level[i];
          for (const DebugfsEntry& e : parse_debugfs_listing(listings[i - start], dir.path + " in " + where_)) {
            add(dir, e, next);
          }
        }
      }
      level = std::move(next);
    }
  }

  void add(const Dir& dir, const DebugfsEntry& e, std::vector<Dir>& next) {
    if (e.name == ".." || e.inode == 0 || (e.name == "." && dir.inode != kRootInode)) return;
    const std::string path = e.name == "." ? "/" : (dir.path == "/" ? "" : dir.path) + "/" + e.name;
    if (path.size() > kMaxPathBytes) bad("Failed to list " + where_ + ": a path is longer than 4096 bytes");
    FileEntry file{partition_, path, file_type_of(e.mode, path + " in " + where_), e.mode & 07777, e.uid, e.gid,
                   e.size, {}, {}};
    if (file.type == "directory") {
      file.size = 0;
      if (e.name != "." && !seen_dirs_.insert(e.inode).second) {
        bad("Failed to list " + where_ + ": the directory " + path + " (inode " + std::to_string(e.inode) +
            ") is reached twice, a loop");
      }
      if (e.name != ".") next.push_back({e.inode, path});
    }
    if (file.type == "regular" && file.size <= kMaxHashedFileBytes) contents_.push_back({out_.size(), e.inode, e.size});
    if (file.type == "symlink") links_.push_back({out_.size(), e.inode, e.size});
    budget_.add(file, where_);
    out_.push_back(std::move(file));
  }

  // Short targets are in the inode (stat's "Fast link dest"), longer ones in a block (cat).
  void read_links() {
    for (std::size_t start = 0; start < links_.size(); start += kLinksPerBatch) {
      const std::size_t end = std::min(links_.size(), start + kLinksPerBatch);
      std::vector<DebugfsRequest> requests;
      for (std::size_t i = start; i < end; ++i) requests.push_back({request_for("stat", links_[i].inode), {}});
      const DebugfsBatchOutput stats = batch(requests, kMaxListingBytes);
      for (std::size_t i = start; i < end; ++i) link_from_stat(links_[i], std::string(stats[i - start]));
    }
  }

  void link_from_stat(const Content& link, const std::string& stat_text) {
    FileEntry& file = out_[link.index];
    const std::string where = file.path + " in " + where_;
    if (link.size > kMaxLinkBytes) bad("Failed to read the link " + where + ": its target is " + std::to_string(link.size) + " bytes long");
    const std::optional<DebugfsStat> stat = parse_debugfs_stat(stat_text);
    if (!stat || stat->type != "symlink") bad("Failed to read the link " + where + ": debugfs stat does not call it one");
    if (!stat->fast_link) {
      contents_.push_back(link);
      return;
    }
    if (stat->fast_link->size() != link.size) {
      bad("Failed to read the link " + where + ": its target is not the " + std::to_string(link.size) +
          " bytes its size says");
    }
    file.link_target = *stat->fast_link;
    budget_.add({partition_, {}, {}, 0, 0, 0, 0, {}, file.link_target}, where_);
  }

  void read_contents() {
    std::size_t start = 0;
    while (start < contents_.size()) {
      std::size_t end = start;
      std::uint64_t bytes = 0;
      while (end < contents_.size() && end - start < kFilesPerBatch &&
             (end == start || bytes + contents_[end].size <= kBatchBytes)) {
        bytes += contents_[end++].size;
      }
      read_batch(start, end, bytes);
      start = end;
    }
  }

  void read_batch(std::size_t start, std::size_t end, std::uint64_t bytes) {
    std::vector<DebugfsRequest> requests;
    for (std::size_t i = start; i < end; ++i) requests.push_back({request_for("cat", contents_[i].inode), contents_[i].size});
    const std::size_t max_out = static_cast<std::size_t>(bytes) + (end - start) * 32 + 4096;
    const DebugfsBatchOutput data = batch(requests, max_out);
    for (std::size_t i = start; i < end; ++i) {
      FileEntry& file = out_[contents_[i].index];
      if (file.type == "symlink") {
        file.link_target = std::string(data[i - start]);
        budget_.add({partition_, {}, {}, 0, 0, 0, 0, {}, file.link_target}, where_);
      } else {
        file.sha256 = sha256_hex(data[i - start]);
      }
    }
  }

  int fd_;
  std::uint64_t offset_;
  std::uint32_t partition_;
  const std::string& where_;
  ManifestBudget& budget_;
  std::vector<FileEntry>& out_;
  std::size_t first_;
  std::unordered_set<std::uint32_t> seen_dirs_;
  std::vector<Content> contents_;
  std::vector<Content> links_;
};

}  // namespace

void ManifestBudget::add(const FileEntry& file, const std::string& where) {
  if (!file.path.empty()) ++files_;
  name_bytes_ += file.path.size() + file.link_target.size();
  if (files_ > kMaxManifestFiles) {
    bad("Failed to list the files of " + where + ": the image holds more than " + std::to_string(kMaxManifestFiles) +
        " files");
  }
  if (name_bytes_ > kMaxManifestNameBytes) {
    bad("Failed to list the files of " + where + ": their names and link targets pass " +
        std::to_string(kMaxManifestNameBytes >> 20) + " MiB");
  }
}

std::vector<DebugfsEntry> parse_debugfs_listing(std::string_view text, const std::string& where) {
  std::vector<DebugfsEntry> entries;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    const std::string_view line = text.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) continue;  // debugfs ends a listing with a blank line
    const std::vector<std::string_view> f = fields_of(line);
    if (line.front() != '/' || line.back() != '/' || f.size() != 6) {
      bad("Failed to read the listing of " + where + ": '" + std::string(line.substr(0, 200)) +
          "' is no debugfs ls -p line (a name with a newline?)");
    }
    DebugfsEntry e;
    e.inode = number<std::uint32_t>(f[0], 10, line, where);
    e.mode = number<std::uint32_t>(f[1], 8, line, where);
    e.uid = number<std::uint32_t>(f[2], 10, line, where);
    e.gid = number<std::uint32_t>(f[3], 10, line, where);
    e.name = std::string(f[4]);
    e.size = f[5].empty() ? 0 : number<std::uint64_t>(f[5], 10, line, where);
    if (e.inode == 0) continue;  // an unused slot (lost+found keeps empty ones)
    if (e.name.empty()) bad("Failed to read the listing of " + where + ": inode " + std::to_string(e.inode) + " has no name");
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string file_type_of(std::uint32_t mode, const std::string& where) {
  switch (mode & 0170000) {
    case 0100000: return "regular";
    case 0040000: return "directory";
    case 0120000: return "symlink";
    case 0020000: return "char";
    case 0060000: return "block";
    case 0010000: return "fifo";
    case 0140000: return "socket";
    default: break;
  }
  bad("Failed to list " + where + ": its mode " + std::to_string(mode) + " names no file type");
}

void list_ext_files(int image_fd, std::uint64_t offset, std::uint32_t partition, const std::string& where,
                    ManifestBudget& budget, std::vector<FileEntry>& out) {
  ExtWalk(image_fd, offset, partition, where, budget, out).run();
}

void list_fat_files(const FatFiles& files, std::uint32_t partition, const std::string& where, ManifestBudget& budget,
                    std::vector<FileEntry>& out) {
  for (const std::string& listed : files.list()) {
    const bool dir = !listed.empty() && listed.back() == '/';
    FileEntry file{partition, dir ? listed.substr(0, listed.size() - 1) : listed, dir ? "directory" : "regular",
                   0, 0, 0, 0, {}, {}};
    if (file.path.empty()) continue;
    budget.add(file, where);
    if (!dir) {
      const std::string bytes = files.read(file.path, kMaxHashedFileBytes);
      file.size = bytes.size();
      file.sha256 = sha256_hex(bytes);
    }
    out.push_back(std::move(file));
  }
}

}  // namespace stage::inspector
