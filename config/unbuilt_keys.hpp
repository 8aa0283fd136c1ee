// Template keys this version parses and checks but cannot build yet. A build
// must never quietly make something other than what the template asks for
// (a mutable, unsigned image for `immutability.enabled: true`): `validate`
// warns about each of these and `build` refuses the template before it
// fetches anything. docs/templates.md ("What a build does with each key")
// lists every key's state.
#pragma once

#include <string>
#include <vector>

#include "config/template.hpp"

namespace config {

// One message per key that is set and not built, naming the key and what to
// do instead; empty when the build does everything the template asks.
std::vector<std::string> unbuilt_keys(const ImageTemplate& t);

// Throws base::Error(kInvalidInput) listing unbuilt_keys(t), if any.
void require_buildable(const ImageTemplate& t);

}  // namespace config
