// The tool's own settings (not an image's): where caches, workspaces and the
// per-OS data live, how many downloads run at once, and how much to log.
// Read from one YAML file found by a fixed search order, else built-in
// defaults that depend on whether the tool runs as root.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace config {

inline constexpr int kMinWorkers = 1;
inline constexpr int kMaxWorkers = 100;
inline constexpr int kDefaultWorkers = 8;

struct GlobalConfig {
  int workers = kDefaultWorkers;
  std::filesystem::path config_dir;  // per-OS data: osv/<os>/<dist>/...
  std::filesystem::path cache_dir;   // packages/ (content-addressed), metadata/
  std::filesystem::path work_dir;    // <provider-id>/{buildenv,imagebuild}
  std::filesystem::path temp_dir;
  std::string log_level = "info";    // debug, info, warn, error
  std::filesystem::path log_file;    // empty: no log file
  // How a build names its published files: "own" or "reference" (the
  // reference tool's scheme); `build --output-names` overrides it.
  std::string output_names = "own";
  // An OpenPGP secret key file (no passphrase): a build signs its SHA256SUMS
  // with it (stage-signer); `build --sign-key` overrides it. Empty: unsigned.
  std::filesystem::path signing_key;
  // The public key `verify` checks SHA256SUMS.asc against without --key.
  std::filesystem::path verify_key;
  // The file the values came from; empty when only defaults apply.
  std::filesystem::path source;
  // Keys read but not acted on (the reference tool's `ai:`), one line each,
  // for the caller to log once.
  std::vector<std::string> warnings;
};

// What the defaults and the search order depend on. Tests build one by hand;
// the CLI uses from_process().
struct Environment {
  uid_t uid = 0;
  std::map<std::string, std::string> vars;  // environment variables
  std::filesystem::path cwd;
  std::filesystem::path source_root;  // the source tree (build_info.hpp)
  std::filesystem::path data_dir;     // <prefix>/share/os-image-composer

  static Environment from_process();
  // The variable's value when set and non-empty.
  std::optional<std::string> get(std::string_view name) const;
  std::filesystem::path home() const;
};

// Built-in defaults: system paths for root, XDG paths for other users.
GlobalConfig default_global_config(const Environment& env);

// Candidate config files, in the order they are tried: per place (working
// directory, user, system) this tool's names first, then the reference
// tool's (image-composer-tool.yml and its other names).
std::vector<std::filesystem::path> global_config_search_paths(const Environment& env);

// True for a file named as the reference tool names its config file
// (image-composer-tool.yml, ~/.image-composer-tool/config.yml, ...): its
// relative paths mean what they mean there, relative to the working directory.
bool is_reference_tool_config(const std::filesystem::path& file);

// The first candidate that exists as a regular file, or nullopt.
std::optional<std::filesystem::path> find_global_config(const Environment& env);

// Overlays the YAML document `text` on `base`. Relative paths are resolved
// against `relative_to`, by default the directory of `source`. The `ai` key
// is accepted and reported in `warnings` as ignored. Throws base::Error(kInvalidInput) as
// "<source>:<line>:<col>: <problem>" for unknown keys (with a suggestion),
// wrong types and out-of-range values.
GlobalConfig parse_global_config(std::string_view text, const std::filesystem::path& source,
                                 GlobalConfig base, const std::filesystem::path& relative_to = {});

// `explicit_path` (from --config) must exist; otherwise the search order
// applies and no file at all means defaults. A reference tool's file
// resolves relative paths against env.cwd.
GlobalConfig load_global_config(const std::optional<std::filesystem::path>& explicit_path,
                                const Environment& env);

// The effective values as YAML (for `config show`).
std::string emit_global_config(const GlobalConfig& config);

// A commented config file holding `config`'s values (for `config init`).
std::string commented_global_config(const GlobalConfig& config);

// True for debug, info, warn, error.
bool is_log_level(std::string_view level);

}  // namespace config
