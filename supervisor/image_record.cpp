#include "supervisor/image_record.hpp"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ipc/error.hpp"
#include "supervisor/digest.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

constexpr int kRecordVersion = 1;

// What a changed part means to the person reading the log.
const std::map<std::string, std::string> kPartMeaning = {
    {"template", "the merged template changed"},
    {"packages", "the package set changed"},
    {"files", "an additional file changed"},
    {"programs", "os-image-composer or one of its stages changed"},
};

std::string file_digest(const fs::path& path) {
  try {
    return sha256_of_file(path);
  } catch (const ipc::Error&) {
    return "unreadable";
  }
}

std::string digest_of_files(const std::vector<fs::path>& paths, bool by_name) {
  std::string text;
  for (const fs::path& path : paths) {
    text += (by_name ? path.filename().string() : path.string()) + "\t" + file_digest(path) + "\n";
  }
  return sha256_hex(text);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

OutputsCheck stale(std::string reason) { return OutputsCheck{.up_to_date = false, .reason = std::move(reason), .files = {}}; }

// The record's files, or a reason why they do not match the disk.
OutputsCheck check_files(const fs::path& dir, const nlohmann::json& recorded) {
  OutputsCheck check;
  for (const auto& entry : recorded) {
    const std::string name = entry.at("name").get<std::string>();
    if (!plain_name(name)) return stale("the build record names a bad file '" + name + "'");
    const fs::path path = dir / name;
    std::error_code ec;
    const auto status = fs::symlink_status(path, ec);
    if (ec || !fs::is_regular_file(status)) return stale(name + " is missing");
    const std::uint64_t size = fs::file_size(path, ec);
    const std::string sha256 = entry.at("sha256").get<std::string>();
    if (ec || size != entry.at("size").get<std::uint64_t>() || file_digest(path) != sha256) {
      return stale(name + " changed since it was built");
    }
    check.files.push_back({path, sha256, size});
  }
  if (read_text(dir / kChecksumFile) != sha256sums_text(check.files)) {
    return stale(std::string(kChecksumFile) + " does not list the recorded files");
  }
  check.up_to_date = true;
  return check;
}

}  // namespace

InputDigest digest_image_inputs(const ImageInputs& inputs) {
  InputDigest digest;
  digest.parts["template"] = sha256_hex(inputs.provider_id + "\n" + inputs.merged_template);
  digest.parts["packages"] = sha256_hex(inputs.lockfile);
  digest.parts["files"] = digest_of_files(inputs.host_files, false);
  digest.parts["programs"] = digest_of_files(inputs.programs, true);
  std::string all = "record " + std::to_string(kRecordVersion) + "\n";
  for (const auto& [part, value] : digest.parts) all += part + "\t" + value + "\n";
  digest.key = sha256_hex(all);
  return digest;
}

OutputsCheck check_outputs(const fs::path& dir, const InputDigest& digest) {
  const fs::path path = dir / kBuildRecordFile;
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) return stale("no earlier build is recorded in " + dir.string());
  try {
    const nlohmann::json record = nlohmann::json::parse(read_text(path));
    if (record.at("recordVersion").get<int>() != kRecordVersion) {
      return stale("the build record " + path.string() + " is of another version");
    }
    if (record.at("key").get<std::string>() != digest.key) {
      std::string changed;
      const auto& parts = record.at("inputs");
      for (const auto& [part, value] : digest.parts) {
        if (parts.contains(part) && parts.at(part).get<std::string>() == value) continue;
        const auto meaning = kPartMeaning.find(part);
        changed += (changed.empty() ? "" : ", ") + (meaning == kPartMeaning.end() ? part : meaning->second);
      }
      return stale(changed.empty() ? "the inputs changed" : changed);
    }
    return check_files(dir, record.at("files"));
  } catch (const nlohmann::json::exception& e) {
    return stale("the build record " + path.string() + " is unreadable (" + e.what() + ")");
  }
}

void remove_build_record(const fs::path& dir) {
  std::error_code ec;
  fs::remove(dir / kBuildRecordFile, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw ipc::Error(ipc::ErrorKind::kFailed,
                     "Failed to remove '" + (dir / kBuildRecordFile).string() + "': " + ec.message());
  }
}

void write_build_record(const fs::path& dir, const InputDigest& digest, const std::vector<PublishedFile>& files) {
  nlohmann::json record = {{"recordVersion", kRecordVersion}, {"key", digest.key}, {"inputs", digest.parts}};
  nlohmann::json list = nlohmann::json::array();
  for (const PublishedFile& f : files) {
    list.push_back({{"name", f.path.filename().string()}, {"size", f.size}, {"sha256", f.sha256}});
  }
  record["files"] = std::move(list);
  const fs::path final_path = dir / kBuildRecordFile;
  const fs::path temp = dir / (std::string(kBuildRecordFile) + ".tmp-" + std::to_string(::getpid()));
  {
    std::ofstream out(temp, std::ios::trunc);
    out << record.dump(1) << "\n";
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to write '" + temp.string() + "'");
    }
  }
  std::error_code ec;
  fs::rename(temp, final_path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw ipc::Error(ipc::ErrorKind::kFailed, "Failed to write '" + final_path.string() + "'");
  }
}

}  // namespace supervisor
