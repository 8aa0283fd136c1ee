// Parsers for one section each; internal to config/template_parser.
#pragma once

#include "config/template.hpp"
#include "config/yaml_reader.hpp"

namespace config::sections {

SystemConfig parse_system_config(YamlReader& in, const YAML::Node& node, const std::string& path,
                                 const std::filesystem::path& source);

}  // namespace config::sections
