#include "supervisor/outputs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>

#include "ipc/error.hpp"
#include "sandbox/unique_fd.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

std::string temp_name(const std::string& name) { return "." + name + ".tmp-" + std::to_string(::getpid()); }

void move_file(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec == std::errc::cross_device_link) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::remove(from, ec);
  }
  if (ec) {
    throw ipc::Error(ipc::ErrorKind::kFailed,
                     "Failed to move '" + from.string() + "' to '" + to.string() + "': " + ec.message());
  }
}

void require_plain_name(const std::string& name) {
  ipc::check(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
                 name != kChecksumFile,
             "bad output file name '" + name + "'");
}

// Removes the temporary files of a publish that did not finish.
class TempFiles {
 public:
  void add(fs::path path) { paths_.push_back(std::move(path)); }
  void release() { paths_.clear(); }
  ~TempFiles() {
    std::error_code ec;
    for (const auto& p : paths_) fs::remove(p, ec);
  }

 private:
  std::vector<fs::path> paths_;
};

}  // namespace

fs::path image_output_dir(const fs::path& work_dir, const std::string& provider_id, const std::string& system_config_name) {
  ipc::require(!system_config_name.empty() && system_config_name.find('/') == std::string::npos &&
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
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to create directory '" + dir.string() + "': " + ec.message());
  std::set<std::string> names;
  TempFiles temps;
  std::vector<PublishedFile> published;
  for (const OutputFile& f : files) {
    require_plain_name(f.name);
    ipc::check(names.insert(f.name).second, "output file '" + f.name + "' appears twice");
    ipc::ErrorContext ctx{"publishing", f.source.string()};
    const fs::path temp = dir / temp_name(f.name);
    move_file(f.source, temp);
    temps.add(temp);
    published.push_back({dir / f.name, f.sha256.empty() ? sha256_of_file(temp) : f.sha256, fs::file_size(temp)});
  }
  // Every file is in place under its temporary name: now replace the old ones.
  for (const PublishedFile& f : published) {
    const fs::path temp = dir / temp_name(f.path.filename().string());
    ipc::check_syscall(::rename(temp.c_str(), f.path.c_str()), "rename into place", f.path.string());
  }
  temps.release();
  const fs::path sums = dir / kChecksumFile;
  const fs::path sums_temp = dir / temp_name(kChecksumFile);
  {
    std::ofstream out(sums_temp, std::ios::trunc);
    out << sha256sums_text(published);
    out.close();
    if (!out) throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to write '" + sums_temp.string() + "'");
  }
  ipc::check_syscall(::rename(sums_temp.c_str(), sums.c_str()), "rename into place", sums.string());
  return published;
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
