// Checks on a parsed template that need more than one key: the partition
// layout, target combinations that have defaults, users and passwords.
// Problems come back as Issues pointing at file:line; additional files that
// `build` would refuse come back as warnings.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/issues.hpp"
#include "config/template.hpp"

namespace config {

struct ValidateOptions {
  // The directory holding osv/; target combinations are looked up there.
  std::filesystem::path config_dir;
};

enum class TemplateRole {
  kUser,     // requires image and target
  kDefault,  // an OS default: requires image, target and systemConfig
  kMerged,   // user over default: as kDefault, plus disk for raw images
};

// Partition layout rules (partition_checks.cpp).
std::vector<Issue> check_partitions(const ImageTemplate& t);

// True when a partition can hold the dm-verity hash tree: id roothashmap or
// hash, or type linux with mountPoint none.
bool has_hash_partition(const Disk& disk);

// Every check for `role`; empty when the template is fine.
std::vector<Issue> check_template(const ImageTemplate& t, const ValidateOptions& options, TemplateRole role);

// What `build` would refuse about the additional files, for `validate` to
// warn: a file found beside no template of the merge chain, or one outside
// the template's and the OS data's directories (allowed only by
// --allow-outside-files). Empty when the build takes every file.
std::vector<std::string> additional_file_warnings(const ImageTemplate& t, const ValidateOptions& options);

// Throws one base::Error(kInvalidInput) listing every issue.
void validate_template(const ImageTemplate& t, const ValidateOptions& options, TemplateRole role);

}  // namespace config
