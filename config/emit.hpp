// Writes a template back as YAML in the reference key order, leaving out
// absent keys, so that parsing the text gives the same template.
#pragma once

#include <string>

#include "config/template.hpp"

namespace config {

std::string emit_template(const ImageTemplate& t);

}  // namespace config
