// The finished files of a build in their final directory (docs/outputs.md):
//
//   <work_dir>/<provider-id>/imagebuild/<systemConfig.name>/
//     <name>-<version>.raw[.gz|.xz|.zst], .qcow2, ...   the artifacts
//     <name>-<version>.spdx.json                         the SBOM
//     <name>-<version>.lock.json                         the lockfile
//     <name>-<version>.template.yml                      the merged template
//     SHA256SUMS                                         written last
//
// (or named as the reference tool names them: OutputNaming below).
//
// Every file is first moved beside its final name under a temporary name,
// then all are renamed over the files of an earlier build at once, and
// SHA256SUMS (temp + rename) last: an interrupted publish leaves the earlier
// build's files and sums, never a mix that claims to be complete.
//
// A stage's output directory is a place the stage could fill with anything:
// each file there is opened without following a link, must be a regular file
// with no other name, is moved by the supervisor from the directory fd it
// opened, and is hashed by the supervisor; what the stage reported about it
// is only compared. The supervisor's own files (lockfile, merged template,
// SHA256SUMS) are written straight into the output directory, which no
// stage is given, as new files (O_EXCL, no link followed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/cache/digest.hpp"  // sha256_of_file, used with these

namespace supervisor {

inline constexpr const char* kChecksumFile = "SHA256SUMS";
// The detached OpenPGP signature of SHA256SUMS (a build with a signing key).
inline constexpr const char* kSignatureFile = "SHA256SUMS.asc";

std::filesystem::path image_output_dir(const std::filesystem::path& work_dir, const std::string& provider_id,
                                       const std::string& system_config_name);

struct OutputFile {
  std::filesystem::path source;  // a stage's file, in the directory the stage wrote; empty with `content`
  std::string name;              // plain file name in the output directory
  std::string sha256;            // what the stage reported, if anything: compared, never trusted
  std::optional<std::uint64_t> size = std::nullopt;  // likewise
  std::optional<std::string> content = std::nullopt;  // a file the supervisor writes itself
};

struct PublishedFile {
  std::filesystem::path path;
  std::string sha256;
  std::uint64_t size = 0;
};

// "<sha256>  <name>\n" per file, sorted by name (sha256sum -c reads it).
std::string sha256sums_text(const std::vector<PublishedFile>& files);

// Moves `files` into `dir` (created if needed) and writes SHA256SUMS; returns
// the published files in the given order, SHA256SUMS not included. Files
// are moved by rename, or copied when the workspace is on another file
// system. A link, a non-regular file, a file with a second name, or a file
// whose hash or size is not what the stage reported fails the publish with
// an error naming it, and leaves the earlier build's files.
std::vector<PublishedFile> publish_outputs(const std::filesystem::path& dir, const std::vector<OutputFile>& files);

// How a build names the files it publishes (`build --output-names`).
enum class OutputNaming {
  kOwn,        // "<image.name>-<image.version>.<ext>", SBOM "<image.name>-<image.version>.spdx.json"
  kReference,  // the reference tool's: "<image.name>-<OS releaseVersion>.<ext>",
               // SBOM "spdx_manifest_<deb|rpm>_<image.name>_<YYYYMMDD_HHMMSS>.json"
};

// "own" or "reference"; nullopt for anything else.
std::optional<OutputNaming> parse_output_naming(std::string_view text);

// What the reference scheme makes a name from.
struct NamingFacts {
  std::string own_base;      // "<image.name>-<image.version>" (output_base_name)
  std::string image_name;    // image.name
  std::string os_version;    // the provider's releaseVersion
  std::string package_type;  // "deb" or "rpm"
  std::int64_t sbom_time = 0;  // the SBOM name's time, seconds since 1970, written in UTC
};

// The name the file a build made as `name` is published under: `name` with
// kOwn. With kReference "<own_base>.spdx.json" becomes the SBOM name and any
// other "<own_base>.<rest>" becomes "<image.name>-<os_version>.<rest>";
// other names (an initrd's vmlinuz-*) are kept.
std::string published_name(OutputNaming naming, const std::string& name, const NamingFacts& facts);

// Whether the published `names` of an earlier build were made with `naming`:
// its lockfile name is among them and no SBOM of the other scheme is.
bool named_by(OutputNaming naming, const std::vector<std::string>& names, const NamingFacts& facts);

// "12.3 MiB" style sizes for the summary.
std::string human_size(std::uint64_t bytes);

}  // namespace supervisor
