// Merges a user template over the OS default for its target. The rules are
// those of the reference tool (docs/templates.md, "Merge rules"), with its
// nondeterministic orders and the skipped systemConfig merge fixed.
#pragma once

#include <string>
#include <vector>

#include "config/template.hpp"

namespace config {

struct MergeResult {
  ImageTemplate merged;
  std::vector<std::string> warnings;
};

// `user` over `defaults`. The result's source is the user's file; marks of
// keys that came from the default keep pointing into the default's file.
MergeResult merge_templates(const ImageTemplate& defaults, const ImageTemplate& user);

}  // namespace config
