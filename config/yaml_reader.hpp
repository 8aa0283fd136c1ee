// Typed reads from a yaml-cpp tree that never stop at the first problem: each
// read records the value's position under its key path and adds an Issue for
// a wrong type, a bad string or an unknown key, then carries on.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/issues.hpp"
#include "config/rules.hpp"
#include "config/template.hpp"

namespace config {

// Longest string accepted anywhere in a template, in characters.
inline constexpr std::size_t kMaxStringLength = 4096;

class YamlReader {
 public:
  YamlReader(std::string file, Marks& marks, Issues& issues)
      : file_(std::move(file)), marks_(marks), issues_(issues) {}

  Mark mark_of(const YAML::Node& node) const;
  void note(const std::string& path, const YAML::Node& node);
  void error(const YAML::Node& node, const std::string& path, std::string message);
  void error(const std::string& path, std::string message) { issues_.add(path, std::move(message)); }

  // True when `node` is a mapping whose keys are all in `keys`; reports unknown
  // keys (with the nearest valid one) and duplicates.
  bool expect_map(const YAML::Node& node, const std::string& path, rules::Allowed keys);

  // The value under `key` of `map` if present and a mapping with known keys.
  std::optional<YAML::Node> section(const YAML::Node& map, const char* key, const std::string& parent,
                                    rules::Allowed keys);

  std::optional<std::string> opt_string(const YAML::Node& map, const char* key, const std::string& parent);
  // Reports "is required" when missing; returns "" then.
  std::string req_string(const YAML::Node& map, const char* key, const std::string& parent);
  std::optional<bool> opt_bool(const YAML::Node& map, const char* key, const std::string& parent);
  std::optional<std::int64_t> opt_int(const YAML::Node& map, const char* key, const std::string& parent,
                                      std::int64_t min, std::int64_t max);
  std::vector<std::string> string_list(const YAML::Node& map, const char* key, const std::string& parent);

  // Calls `item(node, path)` for every element of the list under `key`.
  void each(const YAML::Node& map, const char* key, const std::string& parent,
            const std::function<void(const YAML::Node&, const std::string&)>& item);

  // Reports a value outside `allowed` at `path`.
  void check_enum(const std::optional<std::string>& value, const std::string& path, rules::Allowed allowed);

 private:
  std::optional<std::string> scalar_string(const YAML::Node& node, const std::string& path);

  std::string file_;
  Marks& marks_;
  Issues& issues_;
};

// True when `map` has `key` with a scalar value (a failed read leaves "").
inline bool has_scalar(const YAML::Node& map, const char* key) {
  const YAML::Node node = map[key];
  return node && node.IsScalar();
}

std::string join_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, std::size_t index);

}  // namespace config
