// `build --check-reproducible`'s verdict (docs/reproducible-builds.md,
// "Checking a build"): the outputs of two builds of one template and
// lockfile hashed and matched by name, and for a disk image that differs,
// compare's diff of the two images (image_diff.hpp) told as one line per
// difference: which file and why, or that every file matches and the
// difference lies in file-system metadata or layout.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "supervisor/cli/image_diff.hpp"

namespace supervisor::cli {

struct OutputHash {
  std::string sha256;
  std::uint64_t size = 0;
};
// The outputs of one build by file name.
using OutputSet = std::map<std::string, OutputHash>;

// The files one build published in the output directory `dir`: SHA256SUMS
// and each file it lists, hashed. Not among them: the build record
// (.build-record.json: the inputs' digests, not an output), SHA256SUMS.asc
// (only the first build signs: a signature carries its own time), and the
// files of an earlier build of the same systemConfig.name with other
// artifacts, still beside them. A missing SHA256SUMS, a line of it that
// is not a hash and a plain file name, or a listed link, directory or other
// non-regular file is an error naming it.
OutputSet hash_outputs(const std::filesystem::path& dir);

enum class OutputDifferenceKind { kContent, kOnlyFirst, kOnlySecond };

struct OutputDifference {
  std::string name;
  OutputDifferenceKind kind = OutputDifferenceKind::kContent;
  std::vector<std::string> details;  // for a disk image: explain_image_changes
};

// The outputs that differ, by name.
std::vector<OutputDifference> diff_outputs(const OutputSet& first, const OutputSet& second);

// Whether the output `name` is a disk image compare reads (raw or qcow2).
bool is_disk_image(const std::string& name);

// For a compressed raw image (.raw.gz, .raw.xz, .raw.zst, .raw.bz2), which
// neither compare nor the check decompresses: the line saying how to look
// into it; nullopt for any other name.
std::optional<std::string> compressed_image_hint(const std::string& name);

// One line per difference of two images' inspections (volatile ones
// included: a build's identifiers are derived, so a changed GUID is a
// difference here): "<section>: <item>: <why>", e.g.
// "files (partition 2 rootfs): /etc/motd: content (sha256 1a2b.. -> 3c4d..)"
// (content, mode, owner, size, type, link target, or only in one build).
// When no file differs, a last line saying every listed file matches and the
// difference is in file-system metadata or layout, naming the partitions
// whose bytes differ ("partition bytes" changes, diff_partition_bytes).
std::vector<std::string> explain_image_changes(const std::vector<Change>& changes);

// Whether the output `name` is text the check shows lines of: the SBOM,
// lockfile copies and the merged template (.json, .yml, .yaml).
bool is_text_output(const std::string& name);

// Where two texts differ, line by line in place (no realignment: a
// rebuild's differences are values that changed, not lines moved): up to
// `max_lines` lines "line N: - <first> / + <second>" (a missing line shown as
// "(none)"), each side cut to 160 characters and made printable by `shown`,
// then "... and K more lines differ" when there are more.
std::vector<std::string> text_differences(const std::string& first, const std::string& second,
                                          std::size_t max_lines = 5);

struct ReproducibilityReport {
  std::filesystem::path first_dir;   // the published outputs
  std::filesystem::path second_dir;  // the second build's, kept when they differ
  std::size_t outputs = 0;           // how many outputs the first build has
  std::vector<OutputDifference> differences;
  bool reproducible() const { return differences.empty(); }
};

void print_report_text(std::ostream& out, const ReproducibilityReport& report);
// {"event": "reproducibility-check", "reproducible", "first", "second",
//  "outputs", "differences": [{"output", "kind", "details"}]}
nlohmann::json report_json(const ReproducibilityReport& report);

}  // namespace supervisor::cli
