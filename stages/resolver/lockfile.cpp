#include "stages/resolver/lockfile.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "ipc/error.hpp"
#include "stages/resolver/deb_version.hpp"

namespace stage::resolver {
namespace {

using nlohmann::json;

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_package_name(std::string_view s) {
  if (s.size() < 2 || !std::isalnum(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
  });
}

bool is_safe_relative_path(std::string_view s) {
  if (s.empty() || s.front() == '/') return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) slash = s.size();
    const std::string_view part = s.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

bool is_url(std::string_view s) {
  return s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file:///");
}

// Validates one JSON object against a fixed set of keys and reports fields by path.
class Reader {
 public:
  Reader(std::string_view origin) : origin_(origin) {}

  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    ipc::fail(ipc::ErrorKind::kInvalidInput,
              "Failed to read lockfile '" + std::string(origin_) + "': " + path + " " + why);
  }
  const json& object(const json& j, const std::string& path, std::initializer_list<const char*> keys) const {
    if (!j.is_object()) fail(path, "must be an object");
    for (const auto& [key, value] : j.items()) {
      if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; })) {
        fail(path.empty() ? key : path + "." + key, "is not a known field");
      }
    }
    for (const char* k : keys) {
      if (!j.contains(k)) fail(path.empty() ? std::string(k) : path + "." + k, "is missing");
    }
    return j;
  }
  std::string text(const json& j, const std::string& path, const char* key, bool allow_empty = false) const {
    const json& v = j.at(key);
    if (!v.is_string()) fail(path + "." + key, "must be a string");
    std::string s = v.get<std::string>();
    if (!allow_empty && s.empty()) fail(path + "." + key, "must not be empty");
    return s;
  }

 private:
  std::string_view origin_;
};

void validate_package(const Reader& r, const LockPackage& p, const std::string& path,
                      const std::set<std::string>& repos) {
  if (!is_package_name(p.name)) r.fail(path + ".name", "'" + p.name + "' is not a valid package name");
  if (!is_valid_version(p.version)) r.fail(path + ".version", "'" + p.version + "' is not a valid version");
  if (!is_package_name(p.architecture) && p.architecture != "all") {
    r.fail(path + ".architecture", "'" + p.architecture + "' is not a valid architecture");
  }
  if (!repos.count(p.repository)) r.fail(path + ".repository", "'" + p.repository + "' is not a listed repository");
  if (!is_url(p.url)) r.fail(path + ".url", "'" + p.url + "' is not an http(s) or file URL");
  if (!is_safe_relative_path(p.filename)) r.fail(path + ".filename", "'" + p.filename + "' is not a safe relative path");
  if (p.sha256.size() != 64 || !is_hex(p.sha256)) r.fail(path + ".sha256", "must be 64 lowercase hex digits");
  if (p.size == 0) r.fail(path + ".size", "must be a positive integer");
}

void validate(const Reader& r, const Lockfile& lock) {
  if (lock.target.os.empty()) r.fail("target.os", "must not be empty");
  if (lock.target.dist.empty()) r.fail("target.dist", "must not be empty");
  if (lock.target.arch.empty()) r.fail("target.arch", "must not be empty");
  std::set<std::string> repos;
  for (std::size_t i = 0; i < lock.repositories.size(); ++i) {
    const LockRepository& repo = lock.repositories[i];
    const std::string path = "repositories[" + std::to_string(i) + "]";
    if (repo.name.empty()) r.fail(path + ".name", "must not be empty");
    if (!repos.insert(repo.name).second) r.fail(path + ".name", "'" + repo.name + "' is listed twice");
    if (!is_url(repo.url)) r.fail(path + ".url", "'" + repo.url + "' is not an http(s) or file URL");
    if (repo.suite.empty()) r.fail(path + ".suite", "must not be empty");
    const auto& fp = repo.key_fingerprint;
    if (!fp.empty() && ((fp.size() != 40 && fp.size() != 64) || !is_hex(fp))) {
      r.fail(path + ".keyFingerprint", "must be 40 or 64 lowercase hex digits");
    }
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t i = 0; i < lock.packages.size(); ++i) {
    const LockPackage& p = lock.packages[i];
    const std::string path = "packages[" + std::to_string(i) + "]";
    validate_package(r, p, path, repos);
    if (!seen.emplace(p.name, p.architecture).second) {
      r.fail(path, "'" + p.name + ":" + p.architecture + "' is listed twice");
    }
  }
}

}  // namespace

Lockfile make_lockfile(const Resolution& resolution, LockTarget target, std::vector<LockRepository> repositories) {
  Lockfile lock;
  lock.target = std::move(target);
  lock.repositories = std::move(repositories);
  for (const ResolvedPackage& p : resolution.packages) {
    lock.packages.push_back(
        LockPackage{p.name, p.version, p.architecture, p.repository, p.url, p.filename, p.sha256, p.size});
  }
  return lock;
}

std::string write_lockfile(const Lockfile& lockfile) {
  ipc::check(lockfile.version == kLockfileVersion, "write_lockfile: unknown lockfile version");
  validate(Reader("<being written>"), lockfile);
  std::vector<LockRepository> repos = lockfile.repositories;
  std::sort(repos.begin(), repos.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<LockPackage> pkgs = lockfile.packages;
  std::sort(pkgs.begin(), pkgs.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.architecture) < std::tie(b.name, b.architecture);
  });
  json j;
  j["lockfileVersion"] = lockfile.version;
  j["target"] = {{"os", lockfile.target.os}, {"dist", lockfile.target.dist}, {"arch", lockfile.target.arch}};
  j["repositories"] = json::array();
  for (const auto& r : repos) {
    j["repositories"].push_back({{"name", r.name}, {"url", r.url}, {"suite", r.suite}, {"keyFingerprint", r.key_fingerprint}});
  }
  j["packages"] = json::array();
  for (const auto& p : pkgs) {
    j["packages"].push_back({{"name", p.name},
                             {"version", p.version},
                             {"architecture", p.architecture},
                             {"repository", p.repository},
                             {"url", p.url},
                             {"filename", p.filename},
                             {"sha256", p.sha256},
                             {"size", p.size}});
  }
  return j.dump(2) + "\n";
}

Lockfile read_lockfile(std::string_view text, std::string_view origin) {
  const Reader r(origin);
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) r.fail("the document", "is not valid JSON");
  if (!j.is_object()) r.fail("the document", "must be a JSON object");
  // The version is checked before anything else so that a newer format gets
  // this clear message rather than a complaint about an unknown field.
  if (!j.contains("lockfileVersion") || !j["lockfileVersion"].is_number_integer()) {
    r.fail("lockfileVersion", "is missing or not an integer");
  }
  const auto version = j["lockfileVersion"].get<std::int64_t>();
  if (version != kLockfileVersion) {
    r.fail("lockfileVersion", std::to_string(version) + " is not supported (this build reads version " +
                                  std::to_string(kLockfileVersion) + ")");
  }
  r.object(j, "", {"lockfileVersion", "target", "repositories", "packages"});
  Lockfile lock;
  const json& t = r.object(j["target"], "target", {"os", "dist", "arch"});
  lock.target = {r.text(t, "target", "os"), r.text(t, "target", "dist"), r.text(t, "target", "arch")};
  if (!j["repositories"].is_array()) r.fail("repositories", "must be an array");
  for (std::size_t i = 0; i < j["repositories"].size(); ++i) {
    const std::string path = "repositories[" + std::to_string(i) + "]";
    const json& o = r.object(j["repositories"][i], path, {"name", "url", "suite", "keyFingerprint"});
    lock.repositories.push_back({r.text(o, path, "name"), r.text(o, path, "url"), r.text(o, path, "suite"),
                                 r.text(o, path, "keyFingerprint", true)});
  }
  if (!j["packages"].is_array()) r.fail("packages", "must be an array");
  for (std::size_t i = 0; i < j["packages"].size(); ++i) {
    const std::string path = "packages[" + std::to_string(i) + "]";
    const json& o = r.object(j["packages"][i], path,
                             {"name", "version", "architecture", "repository", "url", "filename", "sha256", "size"});
    if (!o["size"].is_number_unsigned()) r.fail(path + ".size", "must be a positive integer");
    lock.packages.push_back({r.text(o, path, "name"), r.text(o, path, "version"), r.text(o, path, "architecture"),
                             r.text(o, path, "repository"), r.text(o, path, "url"), r.text(o, path, "filename"),
                             r.text(o, path, "sha256"), o["size"].get<std::uint64_t>()});
  }
  validate(r, lock);
  return lock;
}

}  // namespace stage::resolver
