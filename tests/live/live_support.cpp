#include "tests/live/live_support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "base/error.hpp"

namespace tests::live {
namespace fs = std::filesystem;

namespace {

std::optional<std::string> env_var(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

const char* const kKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

// One-line sources.list entry for `source`; apt reads it from our scratch
// root only, never from /etc/apt.
std::string sources_list_line(const config::AptSource& source) {
  std::string line = "deb [arch=amd64";
  if (source.trusted) line += " trusted=yes";
  if (!source.signed_by.empty()) {
    line += " signed-by=";
    for (std::size_t i = 0; i < source.signed_by.size(); ++i) {
      line += (i == 0 ? "" : ",") + source.signed_by[i];
    }
  } else if (!source.trusted) {
    line += std::string(" signed-by=") + kKeyring;
  }
  line += "] " + source.uri + " " + source.suite;
  for (const std::string& component : source.components) line += " " + component;
  return line + "\n";
}

}  // namespace

fs::path persistent_cache_dir() {
  if (auto dir = env_var("OIC_LIVE_CACHE_DIR")) return *dir;
  if (auto xdg = env_var("XDG_CACHE_HOME")) return fs::path(*xdg) / "os-image-composer-tests";
  if (auto home = env_var("HOME")) return fs::path(*home) / ".cache/os-image-composer-tests";
  return fs::temp_directory_path() / "os-image-composer-tests";
}

std::vector<config::AptSource> bookworm_sources() {
  const std::vector<config::AptSource> all = config::read_apt_sources();
  std::vector<config::AptSource> found;
  for (const char* suite : {"bookworm", "bookworm-updates", "bookworm-security"}) {
    std::optional<config::AptSource> source = config::find_debian_source(all, suite, "main");
    if (!source) continue;
    source->components = {"main"};  // the provider uses main only
    found.push_back(*source);
  }
  // Without the release itself the updates alone are no Debian 12.
  if (found.empty() || found.front().suite != "bookworm") return {};
  return found;
}

PackageSet parse_apt_simulation(const std::string& output) {
  PackageSet packages;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("Inst ", 0) != 0) continue;
    std::istringstream words(line.substr(5));
    std::string name;
    std::string version;
    words >> name >> version;
    // An upgrade shows "[old]" before "(new"; a scratch root has none.
    if (!version.empty() && version.front() == '[') words >> version;
    base::require(version.size() > 1 && version.front() == '(',
                 "Failed to parse apt's simulation line '" + line + "'");
    packages[name] = version.substr(1);
  }
  return packages;
}

ScratchApt::ScratchApt(fs::path root, const std::vector<config::AptSource>& sources)
    : root_(std::move(root)) {
  for (const char* dir : {"etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d",
                          "etc/apt/trusted.gpg.d", "var/lib/apt/lists/partial",
                          "var/cache/apt/archives/partial", "var/lib/dpkg"}) {
    fs::create_directories(root_ / dir);
  }
  std::string list;
  for (const config::AptSource& source : sources) list += sources_list_line(source);
  std::ofstream(root_ / "etc/apt/sources.list", std::ios::trunc) << list;
  // An empty status: apt plans a whole new root, as for an image.
  std::ofstream(root_ / "var/lib/dpkg/status", std::ios::trunc);
}

std::vector<std::string> ScratchApt::options() const {
  const std::string r = root_.string();
  const std::vector<std::string> settings = {
      "Dir=" + r,
      "Dir::Etc=" + r + "/etc/apt",
      "Dir::Etc::trusted=" + r + "/etc/apt/trusted.gpg",
      "Dir::Etc::TrustedParts=" + r + "/etc/apt/trusted.gpg.d",
      "Dir::State=" + r + "/var/lib/apt",
      "Dir::State::status=" + r + "/var/lib/dpkg/status",
      "Dir::Cache=" + r + "/var/cache/apt",
      "APT::Architecture=amd64",
      "APT::Architectures::=amd64",
      "Acquire::Languages=none",
      "Debug::NoLocking=1",
      // As root apt would download as _apt, which cannot write here.
      "APT::Sandbox::User=root",
  };
  std::vector<std::string> opts;
  for (const std::string& o : settings) {
    opts.push_back("-o");
    opts.push_back(o);
  }
  return opts;
}

RunResult ScratchApt::apt_get(std::vector<std::string> args) const {
  std::vector<std::string> argv = {"/usr/bin/apt-get"};
  for (std::string& o : options()) argv.push_back(std::move(o));
  for (std::string& a : args) argv.push_back(std::move(a));
  std::map<std::string, std::string> env = {{"PATH", "/usr/bin:/bin:/usr/sbin:/sbin"},
                                            {"LC_ALL", "C"}};
  if (auto home = env_var("HOME")) env["HOME"] = *home;
  return run_program(argv, env, root_ / "run");
}

RunResult ScratchApt::update() const { return apt_get({"update"}); }

RunResult ScratchApt::simulate_install(const std::vector<std::string>& names) const {
  std::vector<std::string> args = {"-s", "install", "--no-install-recommends",
                                   "?essential", "?priority(required)"};
  args.insert(args.end(), names.begin(), names.end());
  return apt_get(std::move(args));
}

}  // namespace tests::live
