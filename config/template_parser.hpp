// Reads an image template (YAML) into typed structs, checking each key's type,
// allowed values and patterns. All problems in a file are reported together in
// one base::Error(kInvalidInput), one "<file>:<line>:<col>: <key.path>: <what>"
// line each.
#pragma once

#include <filesystem>
#include <string_view>

#include "config/template.hpp"

namespace config {

// Rejects names not ending in .yml/.yaml, symlinks and unreadable files.
ImageTemplate parse_template_file(const std::filesystem::path& path);

// `source` names the text in messages and anchors relative additionalFiles.
ImageTemplate parse_template_text(std::string_view yaml, const std::filesystem::path& source);


}  // namespace config
