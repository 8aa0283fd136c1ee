#include "live/manifest.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/fetcher/sha256.hpp"

namespace live {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void refuse(std::string_view where, std::string_view field, std::string_view why) {
  base::fail(base::ErrorKind::kInvalidInput,
             "manifest " + std::string(where) + ": '" + std::string(field) + "' " + std::string(why));
}

const json& member(const json& object, std::string_view where, const char* field) {
  if (!object.contains(field)) refuse(where, field, "is missing");
  return object.at(field);
}

std::string text_of(const json& object, std::string_view where, const char* field) {
  const json& value = member(object, where, field);
  if (!value.is_string()) refuse(where, field, "is not a string");
  return value.get<std::string>();
}

std::uint64_t number_of(const json& object, std::string_view where, const char* field) {
  const json& value = member(object, where, field);
  if (!value.is_number_unsigned()) refuse(where, field, "is not a non-negative integer");
  return value.get<std::uint64_t>();
}

std::string sha_of(const json& object, std::string_view where, const char* field) {
  std::string value = text_of(object, where, field);
  if (!stage::fetcher::is_sha256_hex(value)) refuse(where, field, "is not 64 lowercase hex digits");
  return value;
}

// A path inside the medium: relative, without "..".
fs::path medium_path(const json& object, const fs::path& medium, std::string_view where, const char* field) {
  const fs::path relative(text_of(object, where, field));
  if (relative.empty() || relative.is_absolute()) refuse(where, field, "is not a path relative to the medium");
  for (const auto& part : relative) {
    if (part == "..") refuse(where, field, "leaves the medium ('..')");
  }
  return medium / relative;
}

ImageEntry image_of(const json& image, const fs::path& medium, std::string_view where) {
  if (!image.is_object()) refuse(where, "image", "is not an object");
  ImageEntry entry;
  entry.path = medium_path(image, medium, where, "path");
  entry.compression = text_of(image, where, "compression");
  if (entry.compression != "gzip") refuse(where, "image.compression", "is '" + entry.compression + "', not gzip");
  entry.sha256 = sha_of(image, where, "sha256");
  entry.size = number_of(image, where, "size");
  entry.raw_sha256 = sha_of(image, where, "rawSha256");
  entry.raw_size = number_of(image, where, "rawSize");
  if (entry.raw_size == 0 || entry.raw_size % 512 != 0) {
    refuse(where, "image.rawSize", "is not a positive multiple of 512 bytes");
  }
  return entry;
}

unsigned partition_of(const json& object, std::string_view where, const char* field, bool zero_allowed) {
  const std::uint64_t number = number_of(object, where, field);
  if ((number == 0 && !zero_allowed) || number > 128) refuse(where, field, "is not a GPT partition number (1-128)");
  return static_cast<unsigned>(number);
}

void read_target(Manifest& manifest, const json& root, std::string_view where) {
  manifest.root_partition = partition_of(root, where, "rootPartition", false);
  manifest.esp_partition = partition_of(root, where, "espPartition", true);
  manifest.root_fs_type = text_of(root, where, "rootFsType");
  if (manifest.root_fs_type != "ext2" && manifest.root_fs_type != "ext3" && manifest.root_fs_type != "ext4") {
    refuse(where, "rootFsType", "is '" + manifest.root_fs_type + "'; only ext2, ext3 and ext4 root file systems can be grown");
  }
  manifest.disk_path = text_of(root, where, "diskPath");
  if (!manifest.disk_path.empty() && manifest.disk_path.front() != '/') refuse(where, "diskPath", "is not an absolute path");
  manifest.hostname = text_of(root, where, "hostname");
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  base::require(static_cast<bool>(in), "cannot read the manifest " + path.string() + " (is the install medium mounted?)");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string file_sha256(const fs::path& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  base::check_syscall(fd.get(), "open", path.string());
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat", path.string());
  stage::fetcher::Sha256 sha;
  sha.update_from_fd(fd.get(), static_cast<std::uint64_t>(st.st_size), path.string());
  return sha.finish_hex();
}

}  // namespace

Manifest parse_manifest(std::string_view text, const fs::path& medium, std::string_view where) {
  const json root = json::parse(text, nullptr, false);
  if (root.is_discarded() || !root.is_object()) refuse(where, "(document)", "is not a JSON object");
  if (number_of(root, where, "format") != kManifestFormat) {
    refuse(where, "format", "is " + root.at("format").dump() + "; this live-installer reads format " +
                                std::to_string(kManifestFormat));
  }
  Manifest manifest;
  manifest.image = image_of(member(root, where, "image"), medium, where);
  read_target(manifest, root, where);
  const json& lockfile = member(root, where, "lockfile");
  if (!lockfile.is_object()) refuse(where, "lockfile", "is not an object");
  manifest.lockfile = medium_path(lockfile, medium, where, "path");
  manifest.lockfile_sha256 = sha_of(lockfile, where, "sha256");
  manifest.template_dump = medium_path(root, medium, where, "template");
  return manifest;
}

Manifest load_manifest(const fs::path& medium) {
  const fs::path path = medium / "install" / "manifest.json";
  Manifest manifest = parse_manifest(read_file(path), medium, path.string());
  std::error_code ec;
  const auto size = fs::file_size(manifest.image.path, ec);
  base::require(!ec, "the image " + manifest.image.path.string() + " named by the manifest is not on the medium");
  base::require(size == manifest.image.size, "the image " + manifest.image.path.string() + " has " +
                                                 std::to_string(size) + " bytes; the manifest says " +
                                                 std::to_string(manifest.image.size));
  base::require(fs::exists(manifest.lockfile, ec), "the lockfile " + manifest.lockfile.string() + " is not on the medium");
  const std::string lock_sha = file_sha256(manifest.lockfile);
  base::require(lock_sha == manifest.lockfile_sha256, "the lockfile " + manifest.lockfile.string() + " has SHA-256 " +
                                                          lock_sha + "; the manifest says " + manifest.lockfile_sha256);
  return manifest;
}

}  // namespace live
