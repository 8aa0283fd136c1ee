// Merges a user template over the OS default for its target. The rules are
// those of the reference tool (docs/templates.md, "Merge rules"), with its
// nondeterministic orders and the skipped systemConfig merge fixed.
#pragma once

#include <filesystem>
#include <optional>
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
// Each additional file of the result has merge_chain {defaults, user}.
MergeResult merge_templates(const ImageTemplate& defaults, const ImageTemplate& user);

// Gives every additional file of `t` the merge chain `chain` (template files,
// the OS default's first).
void set_merge_chain(ImageTemplate& t, const std::vector<std::filesystem::path>& chain);

// Where an additional file's `local` is looked for, absolute and lexically
// normal: an absolute `local` as it is; a relative one beside the template
// that declared it (`template_path` when unknown), then beside each other
// template of its merge chain in chain order, as the reference resolves it.
std::vector<std::filesystem::path> additional_file_candidates(const AdditionalFile& file,
                                                              const std::filesystem::path& template_path);

// The first candidate that exists, or nullopt.
std::optional<std::filesystem::path> find_additional_file(const AdditionalFile& file,
                                                          const std::filesystem::path& template_path);

}  // namespace config
