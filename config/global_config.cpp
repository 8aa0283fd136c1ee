#include "config/global_config.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "base/edit_distance.hpp"
#include "build_info.hpp"
#include "base/error.hpp"

extern char** environ;

namespace config {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kToolName = "os-image-composer";
// The reference tool's name for its config files and directories.
constexpr std::string_view kReferenceName = "image-composer-tool";
constexpr std::array<std::string_view, 4> kLogLevels = {"debug", "info", "warn", "error"};
constexpr std::array<std::string_view, 10> kTopKeys = {
    "workers", "config_dir", "cache_dir", "work_dir", "temp_dir", "logging", "output_names",
    "signing_key", "verify_key", "ai"};
constexpr std::array<std::string_view, 2> kOutputNames = {"own", "reference"};
constexpr std::array<std::string_view, 2> kLoggingKeys = {"level", "file"};


// Reports a problem at a node as "<file>:<line>:<col>: <problem>".
[[noreturn]] void fail_at(const fs::path& source, const YAML::Mark& mark, std::string_view problem) {
  std::string msg = source.string();
  if (!mark.is_null()) {
    msg += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  msg += ": ";
  msg += problem;
  throw base::Error(base::ErrorKind::kInvalidInput, std::move(msg));
}

template <std::size_t N>
void reject_unknown_key(const fs::path& source, const YAML::Node& key, std::string_view section,
                        const std::array<std::string_view, N>& known) {
  const std::string name = key.Scalar();
  std::string problem = "unknown key '" + name + "'";
  if (!section.empty()) problem += " in '" + std::string(section) + "'";
  if (std::string s = base::nearest_word(name, known); !s.empty()) problem += " (did you mean '" + s + "'?)";
  fail_at(source, key.Mark(), problem);
}

std::string scalar_string(const fs::path& source, std::string_view key, const YAML::Node& value) {
  if (!value.IsScalar()) fail_at(source, value.Mark(), "'" + std::string(key) + "' must be a string");
  return value.Scalar();
}

// A relative path is taken from `dir`: the config file's directory (this
// tool's files) or the working directory (the reference tool's files).
fs::path path_value(const fs::path& source, const fs::path& dir, std::string_view key, const YAML::Node& value) {
  const std::string text = scalar_string(source, key, value);
  if (text.empty()) fail_at(source, value.Mark(), "'" + std::string(key) + "' must not be empty");
  const fs::path p(text);
  return p.is_absolute() ? p : (dir / p).lexically_normal();
}

// `ai:` configures the reference tool's template generator, which this tool
// does not have: accepted whatever it holds, reported once.
std::string ignored_key_warning(const fs::path& source, const YAML::Node& key) {
  const YAML::Mark mark = key.Mark();
  std::string where = source.string();
  if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  return where + ": key '" + key.Scalar() +
         "' is ignored: it configures the reference tool's AI template generator, which this tool does not have";
}

int workers_value(const fs::path& source, const YAML::Node& value) {
  int workers = 0;
  if (!value.IsScalar() || !YAML::convert<int>::decode(value, workers)) {
    fail_at(source, value.Mark(), "'workers' must be an integer");
  }
  if (workers < kMinWorkers || workers > kMaxWorkers) {
    fail_at(source, value.Mark(),
            "'workers' must be between " + std::to_string(kMinWorkers) + " and " +
                std::to_string(kMaxWorkers) + ", got " + std::to_string(workers));
  }
  return workers;
}

void apply_logging(const fs::path& source, const fs::path& dir, const YAML::Node& node, GlobalConfig& config) {
  if (!node.IsMap()) fail_at(source, node.Mark(), "'logging' must be a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (value.IsNull()) continue;
    if (key == "level") {
      const std::string level = scalar_string(source, "logging.level", value);
      if (!is_log_level(level)) {
        fail_at(source, value.Mark(),
                "'logging.level' must be one of debug, info, warn, error, got '" + level + "'");
      }
      config.log_level = level;
    } else if (key == "file") {
      const std::string text = scalar_string(source, "logging.file", value);
      config.log_file = text.empty() ? fs::path() : path_value(source, dir, "logging.file", value);
    } else {
      reject_unknown_key(source, entry.first, "logging", kLoggingKeys);
    }
  }
}

fs::path xdg_dir(const Environment& env, std::string_view var, const fs::path& fallback) {
  // The XDG spec says relative values are invalid and must be ignored.
  if (auto v = env.get(var); v && fs::path(*v).is_absolute()) return fs::path(*v);
  return env.home() / fallback;
}

fs::path default_config_dir(const Environment& env) {
  std::vector<fs::path> candidates;
  if (auto v = env.get("OIC_CONFIG_DIR")) candidates.emplace_back(*v);
  if (!env.source_root.empty()) candidates.push_back(env.source_root / "config");
  candidates.push_back(env.data_dir / "config");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) return c;
  }
  return candidates.back();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    throw base::Error(base::ErrorKind::kInvalidInput,
                     "Failed to read config file '" + path.string() + "': " + std::strerror(e))
        .with_errno(e);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string yaml_scalar(const std::string& value) {
  YAML::Emitter out;
  out << value;
  return out.c_str();
}

std::string output_names_value(const fs::path& source, const YAML::Node& value) {
  const std::string names = value.IsScalar() ? value.Scalar() : std::string();
  if (std::find(kOutputNames.begin(), kOutputNames.end(), names) == kOutputNames.end()) {
    fail_at(source, value.Mark(), "output_names must be 'own' or 'reference', not '" + names + "'");
  }
  return names;
}

}  // namespace

bool is_log_level(std::string_view level) {
  return std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end();
}

Environment Environment::from_process() {
  Environment env;
  env.uid = ::getuid();
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.vars.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  if (!env.get("HOME")) {
    if (const passwd* pw = ::getpwuid(env.uid); pw != nullptr && pw->pw_dir != nullptr) {
      env.vars["HOME"] = pw->pw_dir;
    }
  }
  std::error_code ec;
  env.cwd = fs::current_path(ec);
  env.source_root = OIC_SOURCE_ROOT;
  env.data_dir = OIC_DATADIR;
  // Installed, the tool reads the data installed with it (found from its own
  // directory, so a DESTDIR or moved prefix works), not the tree it was built from.
  const fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  const fs::path installed = exe_dir / fs::path(OIC_DATADIR).lexically_relative(OIC_BINDIR);
  if (!exe_dir.empty() && fs::is_directory(installed / "config", ec)) {
    env.source_root.clear();
    env.data_dir = installed.lexically_normal();
  }
  return env;
}

std::optional<std::string> Environment::get(std::string_view name) const {
  auto it = vars.find(std::string(name));
  if (it == vars.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

fs::path Environment::home() const {
  if (auto h = get("HOME")) return fs::path(*h);
  return fs::path("/");
}

GlobalConfig default_global_config(const Environment& env) {
  GlobalConfig config;
  config.config_dir = default_config_dir(env);
  if (env.uid == 0) {
    config.cache_dir = fs::path("/var/cache") / kToolName;
    config.work_dir = fs::path("/var/lib") / kToolName / "workspace";
  } else {
    config.cache_dir = xdg_dir(env, "XDG_CACHE_HOME", ".cache") / kToolName;
    config.work_dir = xdg_dir(env, "XDG_DATA_HOME", ".local/share") / kToolName / "workspace";
  }
  config.temp_dir = fs::path(env.get("TMPDIR").value_or("/tmp"));
  return config;
}

std::vector<fs::path> global_config_search_paths(const Environment& env) {
  std::vector<fs::path> paths;
  const auto add_named = [&](std::string_view name) {
    for (std::string_view ext : {".yml", ".yaml"}) {
      for (std::string_view prefix : {"", "."}) {
        paths.push_back(env.cwd / (std::string(prefix) + std::string(name) + std::string(ext)));
      }
    }
  };
  const auto add_dir = [&](const fs::path& dir) {
    paths.push_back(dir / "config.yml");
    paths.push_back(dir / "config.yaml");
  };
  add_named(kToolName);
  add_named(kReferenceName);
  add_dir(xdg_dir(env, "XDG_CONFIG_HOME", ".config") / kToolName);
  // The reference tool looks in $HOME/.config whatever XDG_CONFIG_HOME says.
  add_dir(env.home() / ("." + std::string(kReferenceName)));
  add_dir(env.home() / ".config" / kReferenceName);
  add_dir(fs::path("/etc") / kToolName);
  add_dir(fs::path("/etc") / kReferenceName);
  return paths;
}

bool is_reference_tool_config(const fs::path& file) {
  const std::string name = file.filename().string();
  const std::string stem = name.starts_with('.') ? name.substr(1) : name;
  if (stem == std::string(kReferenceName) + ".yml" || stem == std::string(kReferenceName) + ".yaml") return true;
  const std::string dir = file.parent_path().filename().string();
  const bool config_name = name == "config.yml" || name == "config.yaml";
  return config_name && (dir == kReferenceName || dir == "." + std::string(kReferenceName));
}

std::optional<fs::path> find_global_config(const Environment& env) {
  for (const auto& p : global_config_search_paths(env)) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

GlobalConfig parse_global_config(std::string_view text, const fs::path& source, GlobalConfig base,
                                 const fs::path& relative_to) {
  const fs::path dir = relative_to.empty() ? source.parent_path() : relative_to;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    fail_at(source, e.mark, e.msg);
  }
  base.source = source;
  if (root.IsNull()) return base;  // an empty file keeps every default
  if (!root.IsMap()) fail_at(source, root.Mark(), "the config file must be a mapping of keys");
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (std::find(kTopKeys.begin(), kTopKeys.end(), key) == kTopKeys.end()) {
      reject_unknown_key(source, entry.first, "", kTopKeys);
    }
    if (key == "ai") {
      base.warnings.push_back(ignored_key_warning(source, entry.first));
      continue;
    }
    if (value.IsNull()) continue;  // "key:" with no value keeps the default
    // An empty temp_dir means the system's, as in the reference tool.
    if (key == "temp_dir" && value.IsScalar() && value.Scalar().empty()) continue;
    if (key == "workers") base.workers = workers_value(source, value);
    else if (key == "config_dir") base.config_dir = path_value(source, dir, key, value);
    else if (key == "cache_dir") base.cache_dir = path_value(source, dir, key, value);
    else if (key == "work_dir") base.work_dir = path_value(source, dir, key, value);
    else if (key == "temp_dir") base.temp_dir = path_value(source, dir, key, value);
    else if (key == "logging") apply_logging(source, dir, value, base);
    else if (key == "output_names") base.output_names = output_names_value(source, value);
    else if (key == "signing_key") base.signing_key = path_value(source, dir, key, value);
    else if (key == "verify_key") base.verify_key = path_value(source, dir, key, value);
  }
  return base;
}

GlobalConfig load_global_config(const std::optional<fs::path>& explicit_path, const Environment& env) {
  GlobalConfig defaults = default_global_config(env);
  std::optional<fs::path> path = explicit_path;
  if (path) {
    std::error_code ec;
    const fs::file_status status = fs::status(*path, ec);
    base::require(status.type() != fs::file_type::not_found, "Failed to read config file '" + path->string() +
                                          "' given with --config: it does not exist");
    base::require(!fs::is_directory(status),
                 "Failed to read config file '" + path->string() + "': it is a directory");
  } else {
    path = find_global_config(env);
  }
  if (!path) return defaults;
  const fs::path absolute = path->is_absolute() ? *path : (env.cwd / *path).lexically_normal();
  const fs::path relative_to = is_reference_tool_config(absolute) ? env.cwd : fs::path();
  return parse_global_config(read_file(absolute), absolute, std::move(defaults), relative_to);
}

std::string emit_global_config(const GlobalConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "workers" << YAML::Value << config.workers;
  out << YAML::Key << "config_dir" << YAML::Value << config.config_dir.string();
  out << YAML::Key << "cache_dir" << YAML::Value << config.cache_dir.string();
  out << YAML::Key << "work_dir" << YAML::Value << config.work_dir.string();
  out << YAML::Key << "temp_dir" << YAML::Value << config.temp_dir.string();
  out << YAML::Key << "output_names" << YAML::Value << config.output_names;
  if (!config.signing_key.empty()) out << YAML::Key << "signing_key" << YAML::Value << config.signing_key.string();
  if (!config.verify_key.empty()) out << YAML::Key << "verify_key" << YAML::Value << config.verify_key.string();
  out << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "level" << YAML::Value << config.log_level;
  out << YAML::Key << "file" << YAML::Value << config.log_file.string();
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string commented_global_config(const GlobalConfig& config) {
  std::ostringstream out;
  out << "# os-image-composer global configuration.\n"
         "# Relative paths are resolved against the directory of this file (against the\n"
         "# working directory when it is named as the reference tool's, image-composer-tool.yml).\n\n"
         "# Parallel package downloads (1.." << kMaxWorkers << ").\n"
      << "workers: " << config.workers << "\n\n"
      << "# Per-OS data: osv/<os>/<dist>/ with repositories, keys and default templates.\n"
      << "config_dir: " << yaml_scalar(config.config_dir.string()) << "\n\n"
      << "# Downloaded packages (packages/) and repository indexes (metadata/).\n"
      << "cache_dir: " << yaml_scalar(config.cache_dir.string()) << "\n\n"
      << "# Build trees, one <provider-id>/{buildenv,imagebuild} per OS/dist/arch.\n"
      << "work_dir: " << yaml_scalar(config.work_dir.string()) << "\n\n"
      << "# Short-lived files: imported keys, request dumps, SBOM staging.\n"
      << "temp_dir: " << yaml_scalar(config.temp_dir.string()) << "\n\n"
      << "# Published file names: own (<image.name>-<image.version>.<ext>) or reference\n"
      << "# (the reference tool's <image.name>-<OS version>.<ext>, spdx_manifest_*.json).\n"
      << "output_names: " << config.output_names << "\n\n"
      << "logging:\n"
      << "  # debug, info, warn or error.\n"
      << "  level: " << config.log_level << "\n"
      << "  # A copy of the log, overwritten on each run; empty means none.\n"
      << "  file: " << yaml_scalar(config.log_file.string()) << "\n";
  return out.str();
}

}  // namespace config
