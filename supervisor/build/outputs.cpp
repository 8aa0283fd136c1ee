#include "supervisor/build/outputs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <set>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

constexpr int kNewFile = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

std::string temp_name(const std::string& name) { return "." + name + ".tmp-" + std::to_string(::getpid()); }

void require_plain_name(const std::string& name) {
  base::check(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
                 name != kChecksumFile,
             "bad output file name '" + name + "'");
}

[[noreturn]] void refuse(const fs::path& shown, const std::string& why) {
  base::fail(base::ErrorKind::kFailed, "Failed to publish '" + shown.string() + "': " + why);
}

// Removes `name` in `dir` if it is there (a leftover of a killed publish).
void remove_leftover(int dir, const std::string& name, const fs::path& shown) {
  if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) base::check_syscall(-1, "remove", shown.string());
}

// The supervisor's hash and size of a file it published.
struct Published {
  std::string sha256;
  std::uint64_t size = 0;
};

Published write_new_file(int dir, const std::string& name, const std::string& content, const fs::path& shown) {
  remove_leftover(dir, name, shown);
  base::UniqueFd fd(base::check_syscall(::openat(dir, name.c_str(), kNewFile, 0644), "create", shown.string()));
  base::write_all(fd.get(), content, shown.string());
  return {sha256_hex(content), content.size()};
}

// A stage's file, refused unless it is a regular file with no other name.
base::UniqueFd open_stage_file(int dir, const std::string& name, const fs::path& shown, struct stat& st) {
  base::UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd && errno == ELOOP) refuse(shown, "it is a symbolic link");
  if (!fd) base::check_syscall(-1, "open", shown.string());
  base::check_syscall(::fstat(fd.get(), &st), "inspect", shown.string());
  if (!S_ISREG(st.st_mode)) refuse(shown, "it is not a regular file");
  if (st.st_nlink != 1) refuse(shown, "it has another name (a hard link)");
  return fd;
}

// Copies `in` to the new file `name` in `dir`, hashing what it copies.
Published copy_into(int in, int dir, const std::string& name, const fs::path& shown) {
  base::UniqueFd out(base::check_syscall(::openat(dir, name.c_str(), kNewFile, 0644), "create", name));
  Sha256Stream hash;
  std::vector<char> buffer(1 << 20);
  Published copied;
  for (;;) {
    const ssize_t n = ::pread(in, buffer.data(), buffer.size(), static_cast<off_t>(copied.size));
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", shown.string());
    if (n == 0) break;
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    base::write_all(out.get(), std::string_view(buffer.data(), static_cast<std::size_t>(n)), shown.string());
    copied.size += static_cast<std::uint64_t>(n);
  }
  copied.sha256 = hash.finish();
  return copied;
}

// Moves the stage's file to `temp` in `dir` by directory fds, then hashes
// the file it moved (or copies it across file systems, hashing the copy).
Published move_stage_file(const fs::path& source, int dir, const std::string& temp) {
  const fs::path from_dir = source.parent_path();
  base::UniqueFd src(::open(from_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!src && errno == ENOTDIR) refuse(from_dir, "it is not a directory (a symbolic link?)");
  if (!src) base::check_syscall(-1, "open directory", from_dir.string());
  const std::string name = source.filename().string();
  struct stat st {};
  const base::UniqueFd in = open_stage_file(src.get(), name, source, st);
  remove_leftover(dir, temp, temp);
  if (::renameat(src.get(), name.c_str(), dir, temp.c_str()) != 0) {
    if (errno != EXDEV) base::check_syscall(-1, "move", source.string());
    Published copied = copy_into(in.get(), dir, temp, source);
    ::unlinkat(src.get(), name.c_str(), 0);
    return copied;
  }
  struct stat moved {};
  base::check_syscall(::fstatat(dir, temp.c_str(), &moved, AT_SYMLINK_NOFOLLOW), "inspect", temp);
  if (moved.st_dev != st.st_dev || moved.st_ino != st.st_ino) refuse(source, "it was replaced while it was published");
  return {sha256_of_fd(in.get(), source.string()), static_cast<std::uint64_t>(st.st_size)};
}

// What the stage said about its file must be what the supervisor found.
void require_claims(const OutputFile& f, const Published& found) {
  if (!f.sha256.empty() && f.sha256 != found.sha256) {
    refuse(f.source, "the stage reported sha256 " + f.sha256 + ", the file has " + found.sha256);
  }
  if (f.size && *f.size != found.size) {
    refuse(f.source, "the stage reported " + std::to_string(*f.size) + " bytes, the file has " +
                         std::to_string(found.size));
  }
}

// Removes the temporary files of a publish that did not finish.
class TempFiles {
 public:
  explicit TempFiles(int dir) : dir_(dir) {}
  void add(std::string name) { names_.push_back(std::move(name)); }
  void release() { names_.clear(); }
  ~TempFiles() {
    for (const auto& name : names_) ::unlinkat(dir_, name.c_str(), 0);
  }

 private:
  int dir_;
  std::vector<std::string> names_;
};

}  // namespace

fs::path image_output_dir(const fs::path& work_dir, const std::string& provider_id, const std::string& system_config_name) {
  base::require(!system_config_name.empty() && system_config_name.find('/') == std::string::npos &&
                   system_config_name != "." && system_config_name != "..",
               "systemConfig.name '" + system_config_name + "' cannot name an output directory");
  return work_dir / provider_id / "imagebuild" / system_config_name;
}

std::string sha256sums_text(const std::vector<PublishedFile>& files) {
  std::vector<const PublishedFile*> sorted;
  for (const auto& f : files) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(),
            [](const PublishedFile* a, const PublishedFile* b) { return a->path.filename() < b->path.filename(); });
  std::string text;
  for (const PublishedFile* f : sorted) text += f->sha256 + "  " + f->path.filename().string() + "\n";
  return text;
}

std::vector<PublishedFile> publish_outputs(const fs::path& dir, const std::vector<OutputFile>& files) {
  base::make_directories(dir);
  const base::UniqueFd out(
      base::check_syscall(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open directory", dir.string()));
  std::set<std::string> names;
  TempFiles temps(out.get());
  std::vector<PublishedFile> published;
  for (const OutputFile& f : files) {
    require_plain_name(f.name);
    base::check(names.insert(f.name).second, "output file '" + f.name + "' appears twice");
    base::ErrorContext ctx{"publishing", f.content ? f.name : f.source.string()};
    const std::string temp = temp_name(f.name);
    temps.add(temp);
    const Published found =
        f.content ? write_new_file(out.get(), temp, *f.content, dir / temp) : move_stage_file(f.source, out.get(), temp);
    require_claims(f, found);
    published.push_back({dir / f.name, found.sha256, found.size});
  }
  // Every file is in place under its temporary name: now replace the old ones.
  for (const PublishedFile& f : published) {
    const std::string name = f.path.filename().string();
    base::check_syscall(::renameat(out.get(), temp_name(name).c_str(), out.get(), name.c_str()), "rename into place",
                       f.path.string());
  }
  temps.release();
  const std::string sums_temp = temp_name(kChecksumFile);
  TempFiles sums_files(out.get());
  sums_files.add(sums_temp);
  write_new_file(out.get(), sums_temp, sha256sums_text(published), dir / sums_temp);
  // An earlier build's signature never stays beside other checksums.
  remove_leftover(out.get(), kSignatureFile, dir / kSignatureFile);
  base::check_syscall(::renameat(out.get(), sums_temp.c_str(), out.get(), kChecksumFile), "rename into place",
                     (dir / kChecksumFile).string());
  sums_files.release();
  return published;
}

std::optional<OutputNaming> parse_output_naming(std::string_view text) {
  if (text == "own") return OutputNaming::kOwn;
  if (text == "reference") return OutputNaming::kReference;
  return std::nullopt;
}

namespace {

constexpr std::string_view kReferenceSbomPrefix = "spdx_manifest_";

// "spdx_manifest_deb_<image.name>_20260102_030405.json"
std::string reference_sbom_name(const NamingFacts& facts) {
  const std::time_t time = static_cast<std::time_t>(facts.sbom_time);
  std::tm utc{};
  base::check(::gmtime_r(&time, &utc) != nullptr, "SBOM time " + std::to_string(facts.sbom_time) + " out of range");
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &utc);
  return std::string(kReferenceSbomPrefix) + facts.package_type + "_" + facts.image_name + "_" + stamp + ".json";
}

}  // namespace

std::string published_name(OutputNaming naming, const std::string& name, const NamingFacts& facts) {
  if (naming == OutputNaming::kOwn) return name;
  if (name == facts.own_base + ".spdx.json") return reference_sbom_name(facts);
  if (!name.starts_with(facts.own_base + ".")) return name;
  return facts.image_name + "-" + facts.os_version + name.substr(facts.own_base.size());
}

bool named_by(OutputNaming naming, const std::vector<std::string>& names, const NamingFacts& facts) {
  const std::string lockfile = published_name(naming, facts.own_base + ".lock.json", facts);
  const bool has_lockfile = std::find(names.begin(), names.end(), lockfile) != names.end();
  const bool has_other_sbom = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return naming == OutputNaming::kOwn ? n.starts_with(kReferenceSbomPrefix) : n == facts.own_base + ".spdx.json";
  });
  return has_lockfile && !has_other_sbom;
}

std::string human_size(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits{"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

}  // namespace supervisor
