#include "config/yaml_reader.hpp"

#include <charconv>
#include <cstdio>
#include <set>

namespace config {
namespace {

std::string_view type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// Why `s` is not acceptable template text, or "" when it is.
std::string string_problem(const std::string& s) {
  std::size_t characters = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++characters;
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      return std::string("contains the control character ") + hex + "; only printable text is allowed";
    }
  }
  if (characters > kMaxStringLength)
    return "is " + std::to_string(characters) + " characters long; at most " +
           std::to_string(kMaxStringLength) + " are allowed";
  return {};
}

}  // namespace

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

Mark YamlReader::mark_of(const YAML::Node& node) const {
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return Mark{file_, 0, 0};
  return Mark{file_, m.line + 1, m.column + 1};
}

void YamlReader::note(const std::string& path, const YAML::Node& node) {
  marks_[path] = mark_of(node);
}

void YamlReader::error(const YAML::Node& node, const std::string& path, std::string message) {
  issues_.add_at(mark_of(node), path, std::move(message));
}

bool YamlReader::expect_map(const YAML::Node& node, const std::string& path, rules::Allowed keys) {
  note(path, node);
  if (!node.IsMap()) {
    error(node, path, "expected a mapping, got " + std::string(type_name(node)));
    return false;
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    const std::string key_path = join_path(path, key);
    if (!seen.insert(key).second) error(entry.first, key_path, "duplicate key \"" + key + "\"");
    if (rules::is_one_of(key, keys)) continue;
    std::string message = "\"" + key + "\": unknown key";
    if (std::string near = rules::nearest(key, keys); !near.empty())
      message += "; did you mean \"" + near + "\"?";
    else
      message += "; expected " + rules::describe(keys);
    error(entry.first, key_path, std::move(message));
  }
  return true;
}

std::optional<YAML::Node> YamlReader::section(const YAML::Node& map, const char* key,
                                              const std::string& parent, rules::Allowed keys) {
  const YAML::Node node = map[key];
  if (!node) return std::nullopt;
  if (!expect_map(node, join_path(parent, key), keys)) return std::nullopt;
  return node;
}

std::optional<std::string> YamlReader::scalar_string(const YAML::Node& node, const std::string& path) {
  note(path, node);
  if (!node.IsScalar()) {
    error(node, path, "expected a string, got " + std::string(type_name(node)));
    return std::nullopt;
  }
  const std::string& value = node.Scalar();
  if (std::string problem = string_problem(value); !problem.empty()) {
    error(node, path, "value " + problem);
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> YamlReader::opt_string(const YAML::Node& map, const char* key,
                                                  const std::string& parent) {
  const YAML::Node node = map[key];
  if (!node) return std::nullopt;
  return scalar_string(node, join_path(parent, key));
}

std::string YamlReader::req_string(const YAML::Node& map, const char* key, const std::string& parent) {
  if (!map[key]) {
    issues_.add_at(find_mark(marks_, parent, file_), join_path(parent, key), "is required");
    return {};
  }
  return opt_string(map, key, parent).value_or("");
}

std::optional<bool> YamlReader::opt_bool(const YAML::Node& map, const char* key, const std::string& parent) {
  const YAML::Node node = map[key];
  if (!node) return std::nullopt;
  const std::string path = join_path(parent, key);
  note(path, node);
  if (node.IsScalar() && node.Tag() != "!") {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(node, path, "expected true or false, got " +
                        (node.IsScalar() ? "\"" + node.Scalar() + "\"" : std::string(type_name(node))));
  return std::nullopt;
}

std::optional<std::int64_t> YamlReader::opt_int(const YAML::Node& map, const char* key,
                                                const std::string& parent, std::int64_t min,
                                                std::int64_t max) {
  const YAML::Node node = map[key];
  if (!node) return std::nullopt;
  const std::string path = join_path(parent, key);
  note(path, node);
  const std::string range = " in " + std::to_string(min) + ".." + std::to_string(max);
  if (!node.IsScalar() || node.Tag() == "!") {
    error(node, path, "expected an integer" + range + ", got " +
                          (node.IsScalar() ? "a quoted string" : std::string(type_name(node))));
    return std::nullopt;
  }
  const std::string& s = node.Scalar();
  std::int64_t value = 0;
  const char* begin = s.data() + (s.starts_with('+') ? 1 : 0);
  const auto [end, ec] = std::from_chars(begin, s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || value < min || value > max) {
    error(node, path, "expected an integer" + range + ", got \"" + s + "\"");
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> YamlReader::string_list(const YAML::Node& map, const char* key,
                                                 const std::string& parent) {
  std::vector<std::string> out;
  const YAML::Node node = map[key];
  if (!node) return out;
  const std::string path = join_path(parent, key);
  note(path, node);
  if (!node.IsSequence()) {
    error(node, path, "expected a list of strings, got " + std::string(type_name(node)));
    return out;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    if (auto value = scalar_string(node[i], index_path(path, i))) out.push_back(std::move(*value));
  }
  return out;
}

void YamlReader::each(const YAML::Node& map, const char* key, const std::string& parent,
                      const std::function<void(const YAML::Node&, const std::string&)>& item) {
  const YAML::Node node = map[key];
  if (!node) return;
  const std::string path = join_path(parent, key);
  note(path, node);
  if (!node.IsSequence()) {
    error(node, path, "expected a list, got " + std::string(type_name(node)));
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) item(node[i], index_path(path, i));
}

void YamlReader::check_enum(const std::optional<std::string>& value, const std::string& path,
                            rules::Allowed allowed) {
  if (!value || rules::is_one_of(*value, allowed)) return;
  issues_.add(path, "\"" + *value + "\" is not allowed; expected " + rules::describe(allowed));
}

}  // namespace config
