// The output files made from the finished raw disk: qemu-img conversions
// and multi-threaded compression. Every file is written under a dot-name
// ending in ".partial" and renamed to its final name only when every
// artifact is complete; on failure every temporary file is removed, so
// nothing that looks finished is ever left behind.
//
//   <name>.raw  <name>.qcow2  <name>.vhd  <name>.vhdx  <name>.vmdk  <name>.vdi
//   each optionally + .gz (pigz) | .xz (xz, multi-threaded) | .zstd (zstd)
// qemu-img's random identifiers in vhd, vhdx, vmdk and vdi files are
// replaced by derived ones (image_identity.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "stages/diskmaker/image_identity.hpp"
#include <vector>

namespace stage::diskmaker {

struct ArtifactSpec {
  std::string type;         // raw qcow2 vhd vhdx vmdk vdi
  std::string compression;  // none (or "") gz xz zstd
};

struct ArtifactPlan {
  ArtifactSpec spec;
  std::string final_name;  // <outputName>.<ext>[.<compression>]
  std::string temp_name;   // .<final_name>.partial
};

// Checks the types, compressions and duplicates; throws base::Error(kInvalidInput).
std::vector<ArtifactPlan> plan_artifacts(const std::string& output_name, const std::vector<ArtifactSpec>& specs);

// The temporary name of the raw disk while it is being made.
std::string disk_temp_name(const std::string& output_name);

// qemu-img convert from raw `src` to `type` at `dst`.
std::vector<std::string> convert_argv(const std::string& type, const std::string& src, const std::string& dst);
// The compressor writing `src` compressed to stdout with `threads` threads,
// its output the same bytes on any machine.
std::vector<std::string> compress_argv(const std::string& compression, const std::string& src, unsigned threads);

// Removes every file it holds in `dir_fd` on destruction, unless released.
class TempFiles {
 public:
  explicit TempFiles(int dir_fd) : dir_fd_(dir_fd) {}
  ~TempFiles();
  TempFiles(const TempFiles&) = delete;
  TempFiles& operator=(const TempFiles&) = delete;
  void add(std::string name) { names_.push_back(std::move(name)); }
  void remove(const std::string& name);  // unlinks now
  void release(const std::string& name);  // keeps it
 private:
  int dir_fd_;
  std::vector<std::string> names_;
};

struct ProducedArtifact {
  std::string path;  // relative to the output directory
  std::string type;
  std::string sha256;
  std::uint64_t size = 0;
};

// Where the artifacts go: `dir_fd` is the output directory, `dir_path` the
// same as tools see it; `disk_name` the finished raw disk inside it.
struct ArtifactTarget {
  int dir_fd = -1;
  std::string dir_path;
  std::string disk_name;
  std::vector<int> inherit_fds;
  ImageIdentity identity;  // disk_id "": qemu-img's random identifiers kept
};

// Makes every planned artifact and renames them all into place at the end.
// The raw disk is renamed when a plain raw artifact is listed, else removed.
std::vector<ProducedArtifact> produce_artifacts(const std::vector<ArtifactPlan>& plans,
                                                const ArtifactTarget& target, TempFiles& temps);

}  // namespace stage::diskmaker
