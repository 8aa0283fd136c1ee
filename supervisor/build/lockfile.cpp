#include "supervisor/build/lockfile.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {
namespace {

using nlohmann::json;

[[noreturn]] void bad(std::string_view origin, const std::string& where, const std::string& what) {
  throw base::Error(base::ErrorKind::kInvalidInput,
                   "lockfile '" + std::string(origin) + "': " + where + ": " + what);
}

std::string get_string(const json& object, const char* key, std::string_view origin, const std::string& where,
                       bool required = true) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (required) bad(origin, where + "." + key, "missing");
    return {};
  }
  if (!it->is_string()) bad(origin, where + "." + key, "expected a string");
  return it->get<std::string>();
}

std::vector<std::string> get_strings(const json& object, const char* key, std::string_view origin,
                                     const std::string& where) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end()) return out;
  if (!it->is_array()) bad(origin, where + "." + key, "expected a list of strings");
  for (const auto& item : *it) {
    if (!item.is_string()) bad(origin, where + "." + key, "expected a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

void check_keys(const json& object, std::initializer_list<const char*> allowed, std::string_view origin,
                const std::string& where) {
  if (!object.is_object()) bad(origin, where, "expected an object");
  for (const auto& [key, value] : object.items()) {
    (void)value;
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
      bad(origin, where, "unknown key '" + key + "'");
    }
  }
}

// A package is fetched from its repository's URL and its Filename, nowhere
// else: an edited lockfile cannot send the build to another file or host.
void check_inside_repository(const LockedPackage& pkg, const std::vector<LockedRepository>& repos,
                             std::string_view origin, const std::string& where) {
  require_path_inside_repository(pkg.filename, "lockfile '" + std::string(origin) + "': " + where + ".filename");
  const auto repo = std::find_if(repos.begin(), repos.end(),
                                 [&](const LockedRepository& r) { return r.name == pkg.repository; });
  if (repo == repos.end()) bad(origin, where + ".repository", "names '" + pkg.repository + "', which is not among the repositories");
  if (pkg.url != repo->url + "/" + pkg.filename) {
    bad(origin, where + ".url", "'" + pkg.url + "' is not the repository's URL followed by the filename");
  }
}

}  // namespace

void require_path_inside_repository(const std::string& filename, const std::string& where) {
  auto refuse = [&](const std::string& why) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                     where + ": Filename '" + filename + "' leaves the repository: " + why);
  };
  if (filename.empty()) refuse("it is empty");
  if (filename.front() == '/') refuse("it is an absolute path");
  for (const char c : filename) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) refuse("it holds a control character");
    if (c == '\\' || c == '?' || c == '#' || c == ':') refuse(std::string("it holds '") + c + "'");
  }
  std::istringstream parts(filename);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty() || part == "." || part == "..") refuse("it has an empty, '.' or '..' component");
  }
  if (filename.back() == '/') refuse("it names a directory");
}

std::string lockfile_to_json(const Lockfile& lock) {
  json root = json::object();
  root["format"] = lock.format;
  root["family"] = lock.family;
  root["provider"] = lock.provider_id;
  root["target"] = {{"os", lock.os}, {"dist", lock.dist}, {"arch", lock.arch}};
  json repos = json::array();
  const bool deb = lock.family == "deb";  // rpm has no fields of its own
  for (const auto& r : lock.repositories) {
    json entry = {{"name", r.name}, {"url", r.url}, {"signer", r.signer_fingerprint}};
    if (r.date >= 0) entry["date"] = r.date;
    if (deb) entry["deb"] = {{"suite", r.deb.suite}, {"components", r.deb.components}};
    repos.push_back(std::move(entry));
  }
  root["repositories"] = repos;
  std::vector<LockedPackage> packages = lock.packages;
  std::sort(packages.begin(), packages.end(),
            [](const LockedPackage& a, const LockedPackage& b) { return std::tie(a.name, a.architecture) < std::tie(b.name, b.architecture); });
  json list = json::array();
  for (const auto& p : packages) {
    json entry = {{"name", p.name}, {"version", p.version}, {"architecture", p.architecture},
                  {"repository", p.repository}, {"url", p.url}, {"filename", p.filename},
                  {"sha256", p.sha256}, {"size", p.size}, {"source", p.source}};
    if (deb) entry["deb"] = {{"essential", p.deb.essential}, {"preDepends", p.deb.pre_depends}};
    list.push_back(std::move(entry));
  }
  root["packages"] = list;
  root["installOrder"] = lock.install_order;
  return root.dump(2) + "\n";
}

namespace {

// Format 1 has the family's fields flat in the entry; format 2 in its "deb"
// section. Returns the object that holds them.
const json& deb_fields(const json& entry, int format, std::initializer_list<const char*> allowed,
                       std::string_view origin, const std::string& where) {
  if (format == 1) return entry;
  static const json kEmpty = json::object();
  auto it = entry.find("deb");
  if (it == entry.end()) return kEmpty;
  check_keys(*it, allowed, origin, where + ".deb");
  return *it;
}

// "date": optional, a count of seconds since 1970 (format 2 on).
std::int64_t read_date(const json& r, std::string_view origin, const std::string& where) {
  auto it = r.find("date");
  if (it == r.end()) return -1;
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
    bad(origin, where + ".date", "expected a count of seconds since 1970");
  }
  return it->get<std::int64_t>();
}

LockedRepository read_repository(const json& r, int format, std::string_view family, std::string_view origin,
                                 const std::string& where) {
  if (format == 1) {
    check_keys(r, {"name", "url", "suite", "components", "signer"}, origin, where);
  } else if (family != "deb") {
    check_keys(r, {"name", "url", "signer", "date"}, origin, where);
    return {get_string(r, "name", origin, where), get_string(r, "url", origin, where),
            get_string(r, "signer", origin, where, false), {}, read_date(r, origin, where)};
  } else {
    check_keys(r, {"name", "url", "signer", "date", "deb"}, origin, where);
  }
  const json& deb = deb_fields(r, format, {"suite", "components"}, origin, where);
  const std::string deb_where = format == 1 ? where : where + ".deb";
  return {get_string(r, "name", origin, where), get_string(r, "url", origin, where),
          get_string(r, "signer", origin, where, false),
          {get_string(deb, "suite", origin, deb_where), get_strings(deb, "components", origin, deb_where)},
          format == 1 ? -1 : read_date(r, origin, where)};
}

DebPackageFields read_deb_package_fields(const json& p, int format, std::string_view origin, const std::string& where) {
  const json& deb = deb_fields(p, format, {"essential", "preDepends"}, origin, where);
  const std::string deb_where = format == 1 ? where : where + ".deb";
  DebPackageFields fields;
  if (deb.contains("essential")) {
    if (!deb["essential"].is_boolean()) bad(origin, deb_where + ".essential", "expected true or false");
    fields.essential = deb["essential"].get<bool>();
  }
  fields.pre_depends = get_strings(deb, "preDepends", origin, deb_where);
  return fields;
}

LockedPackage read_package(const json& p, int format, std::string_view family, std::string_view origin,
                           const std::string& where) {
  if (format == 1) {
    check_keys(p, {"name", "version", "architecture", "repository", "url", "filename", "sha256", "size", "source",
                   "essential", "preDepends"},
               origin, where);
  } else if (family != "deb") {
    check_keys(p, {"name", "version", "architecture", "repository", "url", "filename", "sha256", "size", "source"},
               origin, where);
  } else {
    check_keys(p, {"name", "version", "architecture", "repository", "url", "filename", "sha256", "size", "source",
                   "deb"},
               origin, where);
  }
  static const std::regex kSha256("^[0-9a-f]{64}$");
  LockedPackage pkg;
  pkg.name = get_string(p, "name", origin, where);
  pkg.version = get_string(p, "version", origin, where);
  pkg.architecture = get_string(p, "architecture", origin, where);
  pkg.repository = get_string(p, "repository", origin, where);
  pkg.url = get_string(p, "url", origin, where);
  pkg.filename = get_string(p, "filename", origin, where);
  pkg.sha256 = get_string(p, "sha256", origin, where);
  if (!std::regex_match(pkg.sha256, kSha256)) bad(origin, where + ".sha256", "expected 64 lowercase hex digits");
  if (!p.contains("size") || !p["size"].is_number_unsigned()) bad(origin, where + ".size", "expected a byte count");
  pkg.size = p["size"].get<std::uint64_t>();
  pkg.source = get_string(p, "source", origin, where, false);
  if (family == "deb") pkg.deb = read_deb_package_fields(p, format, origin, where);
  if (pkg.url.rfind("https://", 0) != 0 && pkg.url.rfind("http://", 0) != 0 && pkg.url.rfind("file://", 0) != 0) {
    bad(origin, where + ".url", "expected an http(s) or file URL");
  }
  return pkg;
}

// The format, and for format 2 the family, which this build must know.
int read_format(const json& root, Lockfile& lock, std::string_view origin) {
  if (!root.contains("format") || !root["format"].is_number_integer()) bad(origin, "format", "expected an integer");
  lock.format = root["format"].get<int>();
  if (lock.format < kOldestLockfileFormat || lock.format > kLockfileFormat) {
    bad(origin, "format", "version " + std::to_string(lock.format) + " is not supported (this build reads versions " +
                              std::to_string(kOldestLockfileFormat) + " to " + std::to_string(kLockfileFormat) + ")");
  }
  if (lock.format == 1) {
    if (root.contains("family")) bad(origin, "(top)", "unknown key 'family'");
    lock.family = "deb";
    return lock.format;
  }
  lock.family = get_string(root, "family", origin, "(top)");
  if (lock.family != "deb" && lock.family != "rpm") {
    bad(origin, "family", "'" + lock.family + "' is not a package family this build installs");
  }
  return lock.format;
}

}  // namespace

Lockfile lockfile_from_json(std::string_view text, std::string_view origin) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    bad(origin, "byte " + std::to_string(e.byte), "not valid JSON");
  }
  check_keys(root, {"format", "family", "provider", "target", "repositories", "packages", "installOrder"}, origin,
             "(top)");
  Lockfile lock;
  const int format = read_format(root, lock, origin);
  lock.provider_id = get_string(root, "provider", origin, "(top)");
  if (!root.contains("target")) bad(origin, "target", "missing");
  check_keys(root["target"], {"os", "dist", "arch"}, origin, "target");
  lock.os = get_string(root["target"], "os", origin, "target");
  lock.dist = get_string(root["target"], "dist", origin, "target");
  lock.arch = get_string(root["target"], "arch", origin, "target");
  if (!root.contains("repositories") || !root["repositories"].is_array()) bad(origin, "repositories", "expected a list");
  std::size_t i = 0;
  for (const auto& r : root["repositories"]) {
    lock.repositories.push_back(read_repository(r, format, lock.family, origin, "repositories[" + std::to_string(i++) + "]"));
  }
  if (!root.contains("packages") || !root["packages"].is_array()) bad(origin, "packages", "expected a list");
  std::set<std::string> names;
  i = 0;
  for (const auto& p : root["packages"]) {
    const std::string where = "packages[" + std::to_string(i++) + "]";
    LockedPackage pkg = read_package(p, format, lock.family, origin, where);
    if (!names.insert(pkg.name + ":" + pkg.architecture).second) bad(origin, where, "package '" + pkg.name + "' is listed twice");
    check_inside_repository(pkg, lock.repositories, origin, where);
    lock.packages.push_back(std::move(pkg));
  }
  if (root.contains("installOrder")) lock.install_order = get_strings(root, "installOrder", origin, "(top)");
  for (const auto& name : lock.install_order) {
    bool known = std::any_of(lock.packages.begin(), lock.packages.end(), [&](const LockedPackage& p) { return p.name == name; });
    if (!known) bad(origin, "installOrder", "names '" + name + "', which is not among the packages");
  }
  lock.format = kLockfileFormat;  // what it is now, in memory and when written again
  return lock;
}

void require_same_signers(const Lockfile& previous, const Lockfile& now, std::string_view origin) {
  for (const LockedRepository& repo : now.repositories) {
    const auto before = std::find_if(previous.repositories.begin(), previous.repositories.end(),
                                     [&](const LockedRepository& r) { return r.url == repo.url && r.deb.suite == repo.deb.suite; });
    if (before == previous.repositories.end() || before->signer_fingerprint.empty() || repo.signer_fingerprint.empty()) {
      continue;
    }
    if (before->signer_fingerprint != repo.signer_fingerprint) {
      throw base::Error(base::ErrorKind::kInvalidInput,
                       "repository '" + repo.name + "' (" + repo.url + " " + repo.deb.suite + ") is signed by key " +
                           repo.signer_fingerprint + ", but lockfile '" + std::string(origin) +
                           "' records key " + before->signer_fingerprint)
          .with_hint("check the new key; to accept it, remove the lockfile and lock again");
    }
  }
}

void write_lockfile(const std::filesystem::path& path, const Lockfile& lock) {
  const std::filesystem::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    // A new file only: whatever was planted under the temporary name, a
    // link included, is neither followed nor overwritten.
    base::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) {
      throw base::Error(base::ErrorKind::kFailed,
                       "Failed to create '" + tmp.string() + "' for the lockfile: " + std::strerror(errno));
    }
    const std::string text = lockfile_to_json(lock);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      const std::string why = std::strerror(errno);
      ::unlink(tmp.c_str());
      throw base::Error(base::ErrorKind::kFailed, "Failed to write the lockfile '" + path.string() + "': " + why);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    throw base::Error(base::ErrorKind::kFailed, "Failed to write the lockfile '" + path.string() + "': " + ec.message());
  }
}

Lockfile read_lockfile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw base::Error(base::ErrorKind::kInvalidInput, "Failed to read the lockfile '" + path.string() + "'");
  std::stringstream text;
  text << in.rdbuf();
  return lockfile_from_json(text.str(), path.string());
}

}  // namespace supervisor
