#include "config/provider.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <set>
#include <utility>

#include "config/apt_sources.hpp"
#include "base/error.hpp"

namespace config {
namespace {

namespace fs = std::filesystem;

// One provider data file with errors that name it and the offending line.
class DataFile {
 public:
  explicit DataFile(fs::path path) : path_(std::move(path)) {
    base::require(fs::is_regular_file(path_), "Failed to read provider file '" + path_.string() +
                                                 "': no such file");
    try {
      root_ = YAML::LoadFile(path_.string());
    } catch (const YAML::Exception& e) {
      fail_at(e.mark.line, e.msg);
    }
  }

  const fs::path& path() const { return path_; }
  const YAML::Node& root() const { return root_; }

  [[noreturn]] void fail_at(int line, std::string_view reason) const {
    std::string where = path_.string();
    if (line >= 0) where += ":" + std::to_string(line + 1);
    base::fail(base::ErrorKind::kInvalidInput, "Failed to load provider data '" + where + "': " + std::string(reason));
  }
  [[noreturn]] void fail(const YAML::Node& at, std::string_view reason) const { fail_at(at.Mark().line, reason); }

  std::string where(const YAML::Node& at) const {
    return path_.string() + ":" + std::to_string(at.Mark().line + 1);
  }

  void expect_map(const YAML::Node& node, std::initializer_list<std::string_view> keys) const {
    if (!node.IsMap()) fail(node, "expected a mapping");
    for (const auto& item : node) {
      const auto key = item.first.as<std::string>();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) fail(item.first, "unknown key '" + key + "'");
    }
  }

  std::optional<std::string> opt_string(const YAML::Node& map, const char* key) const {
    const YAML::Node value = map[key];
    if (!value) return std::nullopt;
    if (!value.IsScalar()) fail(value, std::string("'") + key + "' must be a string");
    return value.as<std::string>();
  }

  std::string req_string(const YAML::Node& map, const char* key) const {
    auto value = opt_string(map, key);
    if (!value || value->empty()) fail(map, std::string("'") + key + "' is required");
    return *value;
  }

  bool opt_bool(const YAML::Node& map, const char* key, bool fallback) const {
    const YAML::Node value = map[key];
    if (!value) return fallback;
    bool result = fallback;
    if (!value.IsScalar() || !YAML::convert<bool>::decode(value, result)) {
      fail(value, std::string("'") + key + "' must be true or false");
    }
    return result;
  }

  // A list of strings, written either as a YAML sequence or as one
  // space-separated string ("main non-free-firmware").
  std::vector<std::string> words(const YAML::Node& map, const char* key) const {
    const YAML::Node value = map[key];
    std::vector<std::string> out;
    if (!value) return out;
    if (value.IsScalar()) {
      std::string word;
      for (const char c : value.as<std::string>() + " ") {
        if (std::isspace(static_cast<unsigned char>(c)) == 0) {
          word += c;
        } else if (!word.empty()) {
          out.push_back(std::exchange(word, {}));
        }
      }
      return out;
    }
    if (!value.IsSequence()) fail(value, std::string("'") + key + "' must be a list of strings");
    for (const auto& item : value) {
      if (!item.IsScalar() || item.as<std::string>().empty()) {
        fail(item, std::string("'") + key + "' must hold non-empty strings");
      }
      out.push_back(item.as<std::string>());
    }
    return out;
  }

 private:
  fs::path path_;
  YAML::Node root_;
};

bool has_scheme(std::string_view s) {
  return s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file://");
}

// Relative locations in repo files are relative to the repository base URL.
std::string resolve_location(const std::string& base_url, const std::string& location) {
  if (location.empty() || has_scheme(location) || location.starts_with('/')) return location;
  return base_url + "/" + location;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// Names from templates become path components: keep them to one plain word.
void require_plain_name(std::string_view what, std::string_view value) {
  const bool ok = !value.empty() && value.front() != '.' &&
                  std::all_of(value.begin(), value.end(), [](unsigned char c) {
                    return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
                  });
  base::require(ok, "Failed to load provider: " + std::string(what) + " '" + std::string(value) +
                       "' is not a plain name");
}

std::vector<std::string> fingerprints(const DataFile& file, const YAML::Node& repo) {
  auto pins = file.words(repo, "keyFingerprints");
  for (auto& pin : pins) {
    std::transform(pin.begin(), pin.end(), pin.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const bool hex = pin.size() == 40 && std::all_of(pin.begin(), pin.end(), [](unsigned char c) {
                       return std::isxdigit(c) != 0;
                     });
    if (!hex) file.fail(repo["keyFingerprints"], "key fingerprint '" + pin + "' is not 40 hex digits");
  }
  return pins;
}

// keyFiles: keys shipped in the provider folder, so none is taken on trust
// from the repository it is meant to check.
std::vector<std::string> shipped_key_files(const DataFile& file, const YAML::Node& repo, const fs::path& os_dir) {
  std::vector<std::string> paths;
  for (const auto& name : file.words(repo, "keyFiles")) {
    const fs::path relative = fs::path(name).lexically_normal();
    if (relative.is_absolute() || relative.string().starts_with("..")) {
      file.fail(repo["keyFiles"], "key file '" + name + "' must stay inside the OS directory");
    }
    const fs::path path = os_dir / relative;
    if (!fs::is_regular_file(path)) file.fail(repo["keyFiles"], "key file '" + path.string() + "' does not exist");
    paths.push_back(path.string());
  }
  return paths;
}

// The reference tool's pbGPGKey value for a deb repository read without
// signature checks, as a template's pkey says it here.
constexpr std::string_view kTrustedKey = "[trusted=yes]";

bool marked_trusted(const DataFile& file, const YAML::Node& repo) {
  return file.opt_string(repo, "pbGPGKey") == kTrustedKey;
}

std::vector<KeyRef> read_keys(const DataFile& file, const YAML::Node& repo, const std::string& base_url,
                              const fs::path& os_dir) {
  std::vector<std::string> locations;
  for (const char* key : {"pbGPGKey", "gpgKey"}) {
    if (auto value = file.opt_string(repo, key); value && *value != kTrustedKey) locations.push_back(*value);
  }
  for (auto& value : file.words(repo, "gpgKeys")) locations.push_back(std::move(value));
  for (auto& value : shipped_key_files(file, repo, os_dir)) locations.push_back(std::move(value));
  const auto pins = fingerprints(file, repo);
  std::vector<KeyRef> keys;
  for (const auto& location : locations) {
    if (base_url.empty() && !has_scheme(location) && !location.starts_with('/')) {
      file.fail(repo, "key '" + location + "' is relative but the repository has no baseURL");
    }
    keys.push_back({resolve_location(base_url, location), pins});
  }
  return keys;
}

struct HostApt {
  const ProviderOptions& options;
  std::optional<std::vector<AptSource>> sources;  // read once, on first use

  const std::vector<AptSource>& get() {
    if (!sources) sources = read_apt_sources(options.etc_apt);
    return *sources;
  }
};

// The host's apt source of `suite` that lists every component of `repo`.
std::optional<AptSource> host_source(HostApt& apt, const std::string& suite, const Repository& repo,
                                     const std::string& component) {
  auto source = find_debian_source(apt.get(), suite, component);
  if (!source) return std::nullopt;
  for (const auto& c : repo.components) {
    if (std::find(source->components.begin(), source->components.end(), c) == source->components.end()) {
      return std::nullopt;
    }
  }
  return source;
}

// Fills base_url (and keys when the data names none) from the machine's apt
// sources. `sameArchiveAs: SUITE` takes the URI of SUITE's source when the
// host lists none for this suite: one archive serves every suite (a machine
// on bookworm reaches trixie at the same URI), and the suite's own pinned
// keys still verify what comes from there. Returns false when the suite is
// not served and may be left out.
bool resolve_host_apt(const DataFile& file, const YAML::Node& node, Repository& repo, HostApt& apt) {
  const bool required = file.opt_bool(node, "required", true);
  const std::string component = repo.components.empty() ? "main" : repo.components.front();
  auto source = host_source(apt, repo.suite, repo, component);
  const auto same_archive_as = file.opt_string(node, "sameArchiveAs");
  if (!source && same_archive_as) source = host_source(apt, *same_archive_as, repo, component);
  if (!source) {
    if (!required) return false;
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "Failed to find an apt source for suite '" + repo.suite + "'" +
                         (same_archive_as ? " or '" + *same_archive_as + "'" : std::string()) + " component '" +
                         component + "' in '" + apt.options.etc_apt.string() + "' (needed by '" +
                         file.where(node) + "')")
        .with_hint("add a " + repo.suite + " entry to the apt sources, or give packageRepositories in the template");
  }
  repo.base_url = source->uri;
  repo.from_host_apt = true;
  if (repo.keys.empty()) {
    for (const auto& keyring : source->signed_by) {
      if (keyring.starts_with('/')) repo.keys.push_back({keyring, {}});
    }
  }
  return true;
}

// rpm: repomd.xml's detached signature is checked only when repoGPGCheck is on.
void fill_release_files(const DataFile& file, const YAML::Node& node, Repository& repo) {
  const bool deb = repo.type == PackageType::kDeb;
  const std::string release = deb ? "dists/" + repo.suite + "/Release" : "repodata/repomd.xml";
  const std::string sign = deb ? release + ".gpg" : repo.repo_gpg_check ? release + ".asc" : "";
  repo.release_file = resolve_location(repo.base_url, file.opt_string(node, "releaseFile").value_or(release));
  repo.release_sign = resolve_location(repo.base_url, file.opt_string(node, "releaseSign").value_or(sign));
}

void warn(const ProviderOptions& options, const std::string& message) {
  if (options.warn) {
    options.warn(message);
  } else {
    std::fprintf(stderr, "warn: %s\n", message.c_str());
  }
}

struct RepoContext {
  const ProviderData& provider;
  HostApt& apt;
  std::set<std::string> warned;  // keys reported for this file, once each
};

void warn_once(const DataFile& file, const YAML::Node& node, const char* key, RepoContext& ctx,
               std::string_view why) {
  if (!node[key] || !ctx.warned.insert(key).second) return;
  warn(ctx.apt.options, file.where(node[key]) + ": '" + key + "' is ignored: " + std::string(why));
}

// Keys of the reference tool's repository files: buildPath names its
// metadata scratch directory, pkgPrefix where it says packages come from.
// Packages come from baseURL here, as they do there, so a prefix naming
// another place is refused rather than silently not used.
void read_reference_keys(const DataFile& file, const YAML::Node& node, const Repository& repo, RepoContext& ctx) {
  warn_once(file, node, "buildPath", ctx, "repository metadata is kept in the cache directory");
  const auto prefix = file.opt_string(node, "pkgPrefix");
  if (!prefix) return;
  if (repo.type != PackageType::kDeb) {
    warn_once(file, node, "pkgPrefix", ctx, "it applies to deb repositories only");
    return;
  }
  if (repo.from_host_apt) file.fail(node["pkgPrefix"], "a host-apt repository takes its URL from apt");
  std::string url = *prefix;
  replace_all(url, "{arch}", ctx.provider.package_arch);
  while (url.ends_with('/')) url.pop_back();
  if (url != repo.base_url) {
    file.fail(node["pkgPrefix"], "pkgPrefix '" + *prefix + "' differs from baseURL '" + repo.base_url +
                                     "': packages are downloaded from baseURL; give the archive that serves "
                                     "them as baseURL");
  }
}

std::optional<Repository> read_repository(const DataFile& file, const YAML::Node& node, RepoContext& ctx) {
  file.expect_map(node, {"name", "type", "source", "required", "baseURL", "suite", "component", "arch",
                         "releaseFile", "releaseSign", "pbGPGKey", "gpgKey", "gpgKeys", "keyFiles", "keyFingerprints",
                         "gpgCheck", "repoGPGCheck", "enabled", "pkgPrefix", "buildPath", "sameArchiveAs"});
  Repository repo;
  repo.name = file.req_string(node, "name");
  const std::string type = file.req_string(node, "type");
  if (type != to_string(ctx.provider.package_type)) {
    file.fail(node["type"], "repository type '" + type + "' does not match pkgType '" +
                                std::string(to_string(ctx.provider.package_type)) + "'");
  }
  repo.type = ctx.provider.package_type;
  const bool deb = repo.type == PackageType::kDeb;
  const std::string source = file.opt_string(node, "source").value_or("");
  if (!source.empty() && source != "host-apt") file.fail(node["source"], "unknown source '" + source + "'");
  const bool host_apt = source == "host-apt";
  if (host_apt && !deb) file.fail(node["source"], "source 'host-apt' serves deb repositories only");
  if (host_apt && node["baseURL"]) file.fail(node["baseURL"], "a host-apt repository takes its URL from apt");
  if (!host_apt && node["required"]) file.fail(node["required"], "'required' applies to host-apt repositories");
  if (!host_apt && node["sameArchiveAs"]) {
    file.fail(node["sameArchiveAs"], "'sameArchiveAs' applies to host-apt repositories");
  }
  if (host_apt && ctx.apt.options.skip_host_apt) return std::nullopt;

  // Without `suite`, a deb entry's name is its suite, as in the reference tool.
  repo.suite = file.opt_string(node, "suite").value_or(deb ? repo.name : "");
  if (!deb && !repo.suite.empty()) file.fail(node["suite"], "'suite' applies to deb repositories only");
  repo.components = file.words(node, "component");
  repo.architectures = file.words(node, "arch");
  if (repo.architectures.empty()) {
    repo.architectures = {ctx.provider.package_arch, deb ? "all" : "noarch"};
  }
  if (!host_apt) {
    repo.base_url = file.req_string(node, "baseURL");
    replace_all(repo.base_url, "{arch}", ctx.provider.package_arch);
    if (!has_scheme(repo.base_url)) file.fail(node["baseURL"], "baseURL must be an http(s):// or file:// URL");
    while (repo.base_url.ends_with('/')) repo.base_url.pop_back();
  }
  repo.keys = read_keys(file, node, repo.base_url, ctx.provider.os_dir);
  if (host_apt && !resolve_host_apt(file, node, repo, ctx.apt)) return std::nullopt;
  read_reference_keys(file, node, repo, ctx);
  const bool trusted = marked_trusted(file, node);
  repo.gpg_check = !trusted && file.opt_bool(node, "gpgCheck", true);
  repo.repo_gpg_check = !trusted && file.opt_bool(node, "repoGPGCheck", true);
  fill_release_files(file, node, repo);
  repo.enabled = file.opt_bool(node, "enabled", true);
  if ((repo.gpg_check || repo.repo_gpg_check) && repo.keys.empty()) {
    file.fail(node, "repository '" + repo.name + "' checks signatures but names no key");
  }
  return repo;
}

void read_repositories(const fs::path& path, ProviderData& provider, HostApt& apt) {
  const DataFile file(path);
  RepoContext ctx{provider, apt, {}};
  const YAML::Node& root = file.root();
  if (!root.IsMap()) file.fail(root, "expected a mapping");
  // The older layout holds one repository as the whole document.
  if (!root["repositories"]) {
    if (auto repo = read_repository(file, root, ctx)) provider.repositories.push_back(std::move(*repo));
    return;
  }
  file.expect_map(root, {"repositories"});
  const YAML::Node list = root["repositories"];
  if (!list.IsSequence() || list.size() == 0) file.fail(list, "'repositories' must be a non-empty list");
  std::set<std::string> names;
  for (const auto& node : list) {
    auto repo = read_repository(file, node, ctx);
    if (!repo) continue;
    if (!names.insert(repo->name).second) file.fail(node, "repository name '" + repo->name + "' is used twice");
    provider.repositories.push_back(std::move(*repo));
  }
}

ChrootEnv read_chroot_env(const fs::path& path) {
  const DataFile file(path);
  file.expect_map(file.root(), {"essential", "packages"});
  ChrootEnv env{file.words(file.root(), "essential"), file.words(file.root(), "packages")};
  if (env.packages.empty()) file.fail(file.root(), "'packages' is required and must not be empty");
  std::set<std::string> seen;
  for (const auto* list : {&env.essential, &env.packages}) {
    for (const auto& name : *list) {
      if (!seen.insert(name).second) file.fail(file.root(), "package '" + name + "' is listed twice");
    }
  }
  return env;
}

// One of the values the stages know how to act on; anything else is refused
// here rather than guessed at in a stage.
std::string req_choice(const DataFile& file, const YAML::Node& entry, const char* key,
                       std::initializer_list<std::string_view> choices) {
  const std::string value = file.req_string(entry, key);
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return value;
  std::string names;
  for (const std::string_view choice : choices) names += (names.empty() ? "" : " or ") + std::string(choice);
  file.fail(entry[key], std::string(key) + " must be " + names + ", not '" + value + "'");
}

// A group name as useradd -G takes it.
bool valid_group_name(std::string_view name) {
  const auto ok = [](unsigned char c) { return std::islower(c) != 0 || std::isdigit(c) != 0 || c == '_' || c == '-'; };
  const bool starts_with_letter = !name.empty() && (std::islower(static_cast<unsigned char>(name.front())) != 0 ||
                                                    name.front() == '_');
  return starts_with_letter && name.size() <= 32 && std::all_of(name.begin(), name.end(), ok);
}

// A file name in /boot with "{kver}" once where the kernel version goes.
bool valid_initrd_file_name(std::string_view pattern) {
  constexpr std::string_view kVersion = "{kver}";
  const auto at = pattern.find(kVersion);
  if (at == std::string_view::npos || pattern.find(kVersion, at + 1) != std::string_view::npos) return false;
  const std::string rest = std::string(pattern.substr(0, at)) + "x" + std::string(pattern.substr(at + kVersion.size()));
  return std::all_of(rest.begin(), rest.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '-' || c == '_' || c == '+';
  });
}

std::string fact_or(const DataFile& file, const YAML::Node& entry, const char* key, const std::string& fallback) {
  return entry[key] ? file.req_string(entry, key) : fallback;
}

// GRUB's EFI platform for a template architecture, and the word each
// family's module package uses for it (grub-efi-amd64-bin, grub2-efi-x64-modules).
struct GrubPlatform {
  std::string_view arch, platform, deb, rpm;
};
constexpr GrubPlatform kGrubPlatforms[] = {{"x86_64", "x86_64-efi", "amd64", "x64"},
                                           {"aarch64", "arm64-efi", "arm64", "aa64"},
                                           {"armv7hl", "arm-efi", "arm", "arm"}};

// Debian's and Fedora's names; none for an architecture GRUB has no known
// platform for (config.yml must then name them).
GrubNames family_grub(PackageType type, std::string_view arch) {
  const auto* known = std::find_if(std::begin(kGrubPlatforms), std::end(kGrubPlatforms),
                                   [&](const GrubPlatform& p) { return p.arch == arch; });
  if (known == std::end(kGrubPlatforms)) return {};
  const std::string modules = "/usr/lib/grub/" + std::string(known->platform);
  // Legacy BIOS boots only x86 machines.
  const std::string bios = known->arch == "x86_64" ? "/usr/lib/grub/i386-pc" : "";
  if (type == PackageType::kRpm) {
    return {"grub2-mkstandalone", modules, "/boot/grub2", "grub2-tools-extra",
            "grub2-efi-" + std::string(known->rpm) + "-modules", "grub2-mkimage", bios};
  }
  return {"grub-mkstandalone", modules, "/boot/grub", "grub-common", "grub-efi-" + std::string(known->deb) + "-bin",
          "grub-mkimage", bios};
}

// A program or package name: no path, no option.
bool plain_word(std::string_view word) {
  return !word.empty() && std::isalnum(static_cast<unsigned char>(word.front())) != 0 &&
         std::all_of(word.begin(), word.end(), [](unsigned char c) {
           return std::isalnum(c) != 0 || c == '.' || c == '-' || c == '_' || c == '+';
         });
}

bool normal_absolute(const fs::path& path) {
  return path.is_absolute() && path.lexically_normal() == path && path != "/";
}

// `grub: secureBoot:` {shim, shimPackage, sbat}: all three, or the section
// left out (Secure Boot of a GRUB image is then refused for this OS).
void read_grub_secure_boot(const DataFile& file, const YAML::Node& grub_node, GrubNames& grub) {
  const YAML::Node node = grub_node["secureBoot"];
  if (!node) return;
  file.expect_map(node, {"shim", "shimPackage", "sbat"});
  grub.shim = file.req_string(node, "shim");
  grub.shim_package = file.req_string(node, "shimPackage");
  grub.sbat = file.req_string(node, "sbat");
  if (!normal_absolute(grub.shim) || !grub.shim.starts_with("/usr/")) {
    file.fail(node["shim"], "grub.secureBoot.shim '" + grub.shim + "' must be a normal absolute path below /usr");
  }
  if (!plain_word(grub.shim_package)) {
    file.fail(node["shimPackage"], "grub.secureBoot.shimPackage '" + grub.shim_package + "' must be a package name");
  }
  // shim refuses a GRUB whose .sbat lacks the generation it enforces.
  if (!grub.sbat.starts_with("sbat,1,") || grub.sbat.find("\ngrub,") == std::string::npos) {
    file.fail(node["sbat"], "grub.secureBoot.sbat must be an SBAT CSV: a 'sbat,1,...' line, then a 'grub,N,...' line");
  }
}

// `grub:` {mkstandalone, modulesDir, configDir, toolsPackage, modulesPackage,
// mkimage, biosModulesDir, secureBoot}; a key left out is the family's.
void read_grub(const DataFile& file, const YAML::Node& entry, GrubNames& grub) {
  const YAML::Node node = entry["grub"];
  if (node) {
    file.expect_map(node, {"mkstandalone", "modulesDir", "configDir", "toolsPackage", "modulesPackage", "mkimage",
                           "biosModulesDir", "secureBoot"});
    grub.mkstandalone = fact_or(file, node, "mkstandalone", grub.mkstandalone);
    grub.modules_dir = fact_or(file, node, "modulesDir", grub.modules_dir);
    grub.config_dir = fact_or(file, node, "configDir", grub.config_dir);
    grub.tools_package = fact_or(file, node, "toolsPackage", grub.tools_package);
    grub.modules_package = fact_or(file, node, "modulesPackage", grub.modules_package);
    grub.mkimage = fact_or(file, node, "mkimage", grub.mkimage);
    grub.bios_modules_dir = fact_or(file, node, "biosModulesDir", grub.bios_modules_dir);
    read_grub_secure_boot(file, node, grub);
  }
  const auto check = [&](bool ok, const char* key, const std::string& value, std::string_view what) {
    const YAML::Node at = node && node[key] ? node[key] : entry;
    if (!ok) file.fail(at, "grub." + std::string(key) + " '" + value + "' " + std::string(what));
  };
  check(plain_word(grub.mkstandalone), "mkstandalone", grub.mkstandalone, "must be a program name in /usr/bin");
  check(normal_absolute(grub.modules_dir), "modulesDir", grub.modules_dir, "must be a normal absolute path");
  check(normal_absolute(grub.config_dir) && grub.config_dir.starts_with("/boot/"), "configDir", grub.config_dir,
        "must be a normal path below /boot");
  check(plain_word(grub.tools_package), "toolsPackage", grub.tools_package, "must be a package name");
  check(plain_word(grub.modules_package), "modulesPackage", grub.modules_package, "must be a package name");
  check(plain_word(grub.mkimage), "mkimage", grub.mkimage, "must be a program name in /usr/bin");
  check(grub.bios_modules_dir.empty() || (normal_absolute(grub.bios_modules_dir) && grub.bios_modules_dir.starts_with("/usr/")),
        "biosModulesDir", grub.bios_modules_dir, "must be a normal absolute path below /usr");
}

// What a family's distributions use when config.yml leaves a fact out: the
// Go tool's config.yml has none of these keys, and its files load unchanged.
DistributionFacts family_facts(PackageType type, std::string_view arch) {
  if (type == PackageType::kRpm) {
    return {"dracut", "rpm", "wheel", "initramfs-{kver}.img", "/var/lib/rpm", {}, family_grub(type, arch)};
  }
  return {"initramfs-tools", "deb", "sudo", "initrd.img-{kver}", "", {}, family_grub(type, arch)};
}

// rpmDbPath and deferredPackages: what the rpm installer needs; a deb
// provider naming them is refused rather than ignored.
void read_rpm_facts(const DataFile& file, const YAML::Node& entry, PackageType type, DistributionFacts& facts) {
  for (const char* key : {"rpmDbPath", "deferredPackages"}) {
    if (type != PackageType::kRpm && entry[key]) file.fail(entry[key], std::string("'") + key + "' applies to pkgType rpm only");
  }
  facts.rpm_db_path = fact_or(file, entry, "rpmDbPath", facts.rpm_db_path);
  const fs::path db = facts.rpm_db_path;
  if (type == PackageType::kRpm && (!db.is_absolute() || db.lexically_normal() != db || db == "/")) {
    file.fail(entry["rpmDbPath"], "rpmDbPath '" + facts.rpm_db_path + "' must be a normal absolute path below /");
  }
  if (entry["deferredPackages"]) facts.deferred_packages = file.words(entry, "deferredPackages");
}

DistributionFacts read_facts(const DataFile& file, const YAML::Node& entry, PackageType type, std::string_view arch) {
  DistributionFacts facts = family_facts(type, arch);
  if (entry["initramfsTool"]) facts.initramfs_tool = req_choice(file, entry, "initramfsTool", {"initramfs-tools", "dracut"});
  if (entry["purlType"]) facts.purl_type = req_choice(file, entry, "purlType", {"deb", "rpm"});
  facts.sudo_group = fact_or(file, entry, "sudoGroup", facts.sudo_group);
  if (!valid_group_name(facts.sudo_group)) {
    file.fail(entry["sudoGroup"], "sudoGroup '" + facts.sudo_group + "' is not a group name");
  }
  facts.initrd_file_name = fact_or(file, entry, "initrdFileName", facts.initrd_file_name);
  if (!valid_initrd_file_name(facts.initrd_file_name)) {
    file.fail(entry["initrdFileName"], "initrdFileName '" + facts.initrd_file_name +
                                           "' must be a file name holding {kver} once, e.g. initrd.img-{kver}");
  }
  if (entry["initrdCompression"]) {
    facts.initrd_compression = req_choice(file, entry, "initrdCompression", {"gzip", "zstd", "xz", "none"});
  }
  read_rpm_facts(file, entry, type, facts);
  read_grub(file, entry, facts.grub);
  return facts;
}

// The per-arch entry of config.yml; returns the chroot env file it names.
fs::path read_arch_config(const DataFile& file, ProviderData& provider, const ProviderOptions& options) {
  const YAML::Node& root = file.root();
  if (!root.IsMap()) file.fail(root, "expected a mapping of architectures");
  const YAML::Node entry = root[provider.arch];
  if (!entry) file.fail(root, "architecture '" + provider.arch + "' is not declared");
  file.expect_map(entry, {"dist", "arch", "pkgType", "chrootenvConfigFile", "releaseVersion", "initramfsTool",
                          "purlType", "sudoGroup", "initrdFileName", "rpmDbPath", "deferredPackages", "grub",
                          "initrdCompression"});
  // The reference tool's elxr12 says `dist: aria` (its suite): the directory,
  // which the template's target.dist names, is what selects the provider.
  if (const std::string dist = file.req_string(entry, "dist"); dist != provider.dist) {
    warn(options, file.where(entry["dist"]) + ": dist '" + dist + "' is not the directory's name '" + provider.dist +
                      "'; the directory is what target.dist selects");
  }
  if (file.req_string(entry, "arch") != provider.arch) file.fail(entry["arch"], "arch does not match key '" + provider.arch + "'");
  const std::string type = file.req_string(entry, "pkgType");
  if (type != "deb" && type != "rpm") file.fail(entry["pkgType"], "pkgType must be deb or rpm, not '" + type + "'");
  provider.package_type = type == "deb" ? PackageType::kDeb : PackageType::kRpm;
  provider.package_arch = type == "deb" ? debian_arch(provider.arch) : provider.arch;
  provider.release_version = file.req_string(entry, "releaseVersion");
  const fs::path chroot = file.req_string(entry, "chrootenvConfigFile");
  if (chroot.is_absolute() || chroot.lexically_normal().string().starts_with("..")) {
    file.fail(entry["chrootenvConfigFile"], "chrootenvConfigFile must stay inside the OS directory");
  }
  provider.facts = read_facts(file, entry, provider.package_type, provider.arch);
  return chroot;
}

}  // namespace

std::string_view to_string(PackageType type) noexcept {
  switch (type) {
    case PackageType::kDeb: return "deb";
    case PackageType::kRpm: return "rpm";
  }
  return "?";
}

std::string debian_arch(std::string_view arch) {
  if (arch == "x86_64") return "amd64";
  if (arch == "aarch64") return "arm64";
  if (arch == "armv7hl") return "armhf";
  base::fail(base::ErrorKind::kInvalidInput, "Failed to map architecture '" + std::string(arch) +
                                               "' to a Debian architecture: unknown");
}

ProviderData load_provider(const fs::path& config_dir, std::string_view os, std::string_view dist,
                           std::string_view arch, const ProviderOptions& options) {
  require_plain_name("os", os);
  require_plain_name("dist", dist);
  require_plain_name("arch", arch);
  ProviderData provider;
  provider.os = os;
  provider.dist = dist;
  provider.arch = arch;
  provider.id = provider.os + "-" + provider.dist + "-" + provider.arch;
  provider.os_dir = config_dir / "osv" / provider.os / provider.dist;
  base::ErrorContext ctx{"loading provider", provider.id};
  base::require(fs::is_directory(provider.os_dir),
               "Failed to load provider '" + provider.id + "': no directory '" + provider.os_dir.string() + "'");

  const fs::path chroot = read_arch_config(DataFile(provider.os_dir / "config.yml"), provider, options);
  fs::path repo_file = provider.os_dir / "providerconfigs" / (provider.package_arch + "_repo.yml");
  if (!fs::exists(repo_file)) repo_file = provider.os_dir / "providerconfigs" / "repo.yml";
  HostApt apt{options, std::nullopt};
  read_repositories(repo_file, provider, apt);
  provider.chroot_env = read_chroot_env(provider.os_dir / chroot);
  return provider;
}

std::vector<ProviderTarget> list_providers(const fs::path& config_dir) {
  std::vector<ProviderTarget> targets;
  const fs::path osv = config_dir / "osv";
  if (!fs::is_directory(osv)) return targets;
  for (const auto& os : fs::directory_iterator(osv)) {
    if (!os.is_directory()) continue;
    for (const auto& dist : fs::directory_iterator(os.path())) {
      const fs::path config = dist.path() / "config.yml";
      if (!fs::is_regular_file(config)) continue;
      const DataFile file(config);
      if (!file.root().IsMap()) file.fail(file.root(), "expected a mapping of architectures");
      for (const auto& item : file.root()) {
        targets.push_back({os.path().filename(), dist.path().filename(), item.first.as<std::string>()});
      }
    }
  }
  std::sort(targets.begin(), targets.end());
  return targets;
}

}  // namespace config
