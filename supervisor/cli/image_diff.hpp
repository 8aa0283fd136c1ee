// `compare`'s diff of two inspector reports (stages/inspector/report.hpp):
// the partition table, partitions and their file systems, os-release,
// packages, users, groups, the boot configuration, kernels, UKIs, the SBOM's
// path and every file of each listed file system; and the class of equality
// the reference names: binary identical (with --hash-images, the same
// SHA-256), semantically identical (no meaningful difference; hashed, and
// different bytes), semantically identical unverified (no meaningful
// difference; not hashed) or different. As in the reference, a disk GUID,
// partition GUID or file system UUID alone is a volatile difference, not a
// meaningful one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stages/inspector/report.hpp"

namespace supervisor::cli {

struct FieldChange {
  std::string field;  // "version", "sha256", "mode", ...
  std::string from;   // empty for an added item
  std::string to;     // empty for a removed item
};

struct Change {
  std::string section;  // "packages", "files (partition 2)", "partition table", ...
  std::string item;     // "bash:amd64", "/etc/hostname", ...
  std::string kind;     // "added", "removed", "changed"
  std::vector<FieldChange> fields;  // an added or removed item's fields, or the changed ones
  bool volatile_only = false;  // only volatile fields changed (GUIDs, UUIDs)
};

// Every difference from `a` to `b`, section by section, each sorted by item.
std::vector<Change> diff_reports(const stage::inspector::Report& a, const stage::inspector::Report& b);

// SHA-256 of each partition's bytes (compare --hash-images), by partition index.
using PartitionHashes = std::map<std::uint32_t, std::string>;
// The partitions both images have whose bytes differ: volatile where their
// files were listed and compared (ext2/3/4, FAT: the difference is in file
// system metadata such as times), meaningful for any other partition.
std::vector<Change> diff_partition_bytes(const stage::inspector::Report& a, const PartitionHashes& a_hashes,
                                         const stage::inspector::Report& b, const PartitionHashes& b_hashes);

// Package sets of two SPDX documents (--mode spdx): name -> versions.
using PackageVersions = std::map<std::string, std::vector<std::string>>;
std::vector<Change> diff_packages(const PackageVersions& a, const PackageVersions& b);

enum class Equality { kBinaryIdentical, kSemanticallyIdentical, kSemanticallyIdenticalUnverified, kDifferent };

// `hashes_equal`: whether the images' SHA-256s are the same, when they were computed.
Equality classify(const std::vector<Change>& changes, std::optional<bool> hashes_equal);
// "binary_identical", "semantically_identical", "semantically_identical_unverified", "different".
std::string equality_name(Equality equality);

struct SectionCounts {
  int added = 0;
  int removed = 0;
  int changed = 0;
  bool operator==(const SectionCounts&) const = default;
};
// Counts per section, volatile changes included.
std::map<std::string, SectionCounts> count_by_section(const std::vector<Change>& changes);

// `text` cut at each newline, without them; a last line with no newline counts.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace supervisor::cli
