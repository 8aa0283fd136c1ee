#include "stages/installer/rpm/rpm_transaction.hpp"

#include <algorithm>
#include <regex>

#include "base/error.hpp"

namespace stage::installer {
namespace {

std::vector<std::string> split(std::string_view line, char separator) {
  std::vector<std::string> fields;
  for (std::size_t start = 0;;) {
    const std::size_t end = line.find(separator, start);
    fields.emplace_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

// rpm prints "(none)" for a tag the header lacks.
std::string tag_value(const std::string& text) { return text == "(none)" ? std::string() : text; }

}  // namespace

std::string checked_db_path(std::string_view db_path) {
  const std::filesystem::path path(db_path);
  bool bad = !path.is_absolute();
  for (const auto& part : path) bad = bad || part == "..";
  base::require(!bad, "Failed to decode installer request: packageFamily.rpm.dbPath '" + std::string(db_path) +
                          "' must be an absolute path inside the image without '..'");
  std::string normal = path.lexically_normal().string();
  while (normal.size() > 1 && normal.ends_with('/')) normal.pop_back();
  base::require(normal != "/", "Failed to decode installer request: packageFamily.rpm.dbPath must not be '/'");
  return normal;
}

std::vector<std::string> rpm_argv(const char* program, const std::filesystem::path& root, const std::string& db_path) {
  return {program, "--root", root.string(), "--dbpath", db_path, "--noplugins"};
}

const char* const kSandboxMountedPaths = "/proc:/dev";

std::vector<std::string> rpm_install_argv(const std::filesystem::path& root, const std::string& db_path,
                                          const std::vector<std::string>& files, bool deferred) {
  std::vector<std::string> argv = rpm_argv(kRpmProgram, root, db_path);
  // The verifier checked every signature against the lockfile's keys.
  // /proc and /dev of the tree are the sandbox's mounts while rpm runs: a
  // package's entries there (filesystem's /proc) would chown a procfs root
  // (EBUSY) or land in a tmpfs that vanishes, so rpm records them as shared
  // and `rpm -V` passes them over.
  argv.insert(argv.end(), {"--define", std::string("_netsharedpath ") + kSandboxMountedPaths, "--nosignature", "-i"});
  if (deferred) argv.insert(argv.end(), {"--noscripts", "--notriggers"});
  argv.push_back("--");
  argv.insert(argv.end(), files.begin(), files.end());
  return argv;
}

std::vector<TreePackage> parse_rpm_query(std::string_view text) {
  std::vector<TreePackage> packages;
  std::size_t number = 0;
  for (const std::string& line : split(text, '\n')) {
    ++number;
    if (line.empty()) continue;
    const std::vector<std::string> f = split(line, '\t');
    base::require(f.size() == 5 && !f[0].empty() && f[1].find(':') != std::string::npos,
                 "Failed to read the rpmdb listing: line " + std::to_string(number) + " '" + line +
                     "' is not name, epoch:version-release, arch, vendor, packager");
    if (f[0] == "gpg-pubkey") continue;
    std::string version = f[1].starts_with("0:") ? f[1].substr(2) : f[1];
    const std::string vendor = tag_value(f[3]);
    packages.push_back({f[0], std::move(version), tag_value(f[2]), vendor.empty() ? tag_value(f[4]) : vendor});
  }
  std::sort(packages.begin(), packages.end(), [](const TreePackage& a, const TreePackage& b) {
    return a.name != b.name ? a.name < b.name : a.version < b.version;
  });
  return packages;
}

std::string package_named_by_rpm(std::string_view rpm_errors) {
  static const std::regex named(
      R"(error: ([^\s:()]+): install failed|%[a-z]+\(([^\s()]+)\) scriptlet failed|)"
      R"(package ([^\s]+) is already installed|is needed by ([^\s]+))");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_search(rpm_errors.begin(), rpm_errors.end(), match, named)) return {};
  for (std::size_t i = 1; i < match.size(); ++i) {
    if (match[i].matched) return match[i].str();
  }
  return {};
}

}  // namespace stage::installer
