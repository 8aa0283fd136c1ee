#include "stages/isomaker/iso_repo.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/diskmaker/tools.hpp"

namespace stage::isomaker {
namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
  base::UniqueFd fd(base::check_syscall(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                                        "create", path));
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = base::check_syscall(::write(fd.get(), text.data() + done, text.size() - done), "write", path);
    done += static_cast<std::size_t>(n);
  }
}

// The tool's stdout into `path`: its warnings (stderr) stay out of the file.
void run_into(const std::vector<std::string>& argv, const std::string& path, const std::string& what,
              const std::vector<int>& input_fds) {
  base::UniqueFd fd(base::check_syscall(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644),
                                        "create", path));
  diskmaker::run_tool_checked({.argv = argv, .stdout_fd = fd.get(), .inherit_fds = input_fds}, what);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  base::check(in.good(), "cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Release hashes the indexes in `dir`, so it is written beside it first.
std::vector<Graft> index_deb(const std::string& dir, std::int64_t time, const std::vector<int>& input_fds) {
  const std::string scanned = dir + ".packages";
  run_into({"apt-ftparchive", "packages", dir}, scanned, "index the packages (apt-ftparchive packages)", input_fds);
  write_text(dir + "/Packages", relative_packages_index(read_text(scanned)));
  const std::string release = dir + ".release";
  run_into({"apt-ftparchive", "-o", "APT::FTPArchive::Release::Date=" + rfc1123_date(time), "release", dir}, release,
           "write the repository's Release (apt-ftparchive release)", {});
  fs::rename(release, dir + "/Release");
  return {{"/cache-repo/Packages", dir + "/Packages"}, {"/cache-repo/Release", dir + "/Release"}};
}

std::vector<Graft> index_rpm(const std::string& dir, std::int64_t time, const std::vector<int>& input_fds) {
  diskmaker::run_tool_checked({.argv = {"createrepo_c", "--no-database", "--simple-md-filenames", "--revision",
                                        std::to_string(time), "--set-timestamp-to-revision", dir},
                               .inherit_fds = input_fds},
                              "index the packages (createrepo_c)");
  return {{"/cache-repo/repodata", dir + "/repodata"}};
}

}  // namespace

std::string relative_packages_index(const std::string& index) {
  static constexpr std::string_view kFilename = "Filename: ";
  std::string out;
  std::size_t start = 0;
  while (start < index.size()) {
    std::size_t end = index.find('\n', start);
    end = end == std::string::npos ? index.size() : end + 1;
    const std::string_view line(index.data() + start, end - start);
    if (line.starts_with(kFilename)) {
      const std::string_view path = line.substr(kFilename.size());
      out += "Filename: ./" + std::string(path.substr(path.rfind('/') + 1));
    } else {
      out += line;
    }
    start = end;
  }
  return out;
}

std::vector<Graft> make_repository(PackageFamily family, const std::vector<std::string>& packages,
                                   const std::string& scratch_dir, std::int64_t time,
                                   const std::vector<int>& input_fds) {
  if (family == PackageFamily::kNone) return {};
  const std::string suffix = family == PackageFamily::kDeb ? ".deb" : ".rpm";
  std::vector<Graft> grafts;
  std::set<std::string> names;
  for (const auto& path : packages) {
    const std::string name = fs::path(path).filename().string();
    base::require(name.ends_with(suffix), "package file '" + path + "' is not a " + suffix + " file");
    base::require(names.insert(name).second, "two package files are named '" + name + "'");
    base::require(fs::is_regular_file(path), "package file '" + path + "' does not exist");
    fs::create_symlink(path, scratch_dir + "/" + name);
    grafts.push_back({"/cache-repo/" + name, path});
  }
  const std::vector<Graft> metadata =
      family == PackageFamily::kDeb ? index_deb(scratch_dir, time, input_fds) : index_rpm(scratch_dir, time, input_fds);
  grafts.insert(grafts.end(), metadata.begin(), metadata.end());
  return grafts;
}

}  // namespace stage::isomaker
