// What the outputs in an image's output directory were built from, so that a
// build of exactly the same inputs hands them back instead of making the
// image again (docs/outputs.md, "Up-to-date outputs").
//
//   <output dir>/.build-record.json   written after SHA256SUMS, removed
//                                     before a new build publishes
//
// The record holds one digest per kind of input and the name, size and
// sha256 of every published file. Outputs count as up to date only when every
// digest is equal and every file still has the content it was published
// with, re-hashed now: an image someone booted (and so changed) is rebuilt.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/build/outputs.hpp"

namespace supervisor {

inline constexpr const char* kBuildRecordFile = ".build-record.json";

// Everything an image is made from, as the supervisor sees it.
struct ImageInputs {
  std::string provider_id;
  std::string merged_template;  // config::emit_template of the merged template
  std::string lockfile;         // lockfile_to_json of the package set
  // Host files copied into the image (additionalFiles), by source path.
  std::vector<std::filesystem::path> host_files;
  // The programs that make the image: the CLI itself and the stages it runs.
  std::vector<std::filesystem::path> programs;
};

// One sha256 per kind of input ("template", "packages", "files", "programs")
// and the key over all of them.
struct InputDigest {
  std::string key;
  std::map<std::string, std::string> parts;
};

// Hashes the inputs. A host file that cannot be read gets a digest no record
// can hold, so the build goes on and reports the file itself.
InputDigest digest_image_inputs(const ImageInputs& inputs);

struct OutputsCheck {
  bool up_to_date = false;
  std::string reason;                  // why not, for the log
  std::vector<PublishedFile> files;    // when up to date: the files, SHA256SUMS not included
};

// Compares `dir`'s record with `digest` and re-hashes every recorded file.
OutputsCheck check_outputs(const std::filesystem::path& dir, const InputDigest& digest);

// Removes the record (before a publish replaces the outputs).
void remove_build_record(const std::filesystem::path& dir);

// Writes the record (temp + rename) after `files` were published to `dir`.
void write_build_record(const std::filesystem::path& dir, const InputDigest& digest,
                        const std::vector<PublishedFile>& files);

}  // namespace supervisor
