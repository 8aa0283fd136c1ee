#include "supervisor/repository_common.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cctype>

#include "base/error.hpp"
#include "supervisor/build/package_fetch.hpp"
#include "supervisor/build/secure_boot.hpp"

namespace supervisor {

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string safe_name(std::string text) {
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return text;
}

bool is_remote(const std::string& location) {
  return location.starts_with("https://") || location.starts_with("http://");
}

std::string local_key_path(const std::string& location) {
  return location.starts_with("file://") ? location.substr(7) : location;
}

std::string download_name(const std::string& repo, const std::string& relative_path) {
  std::string name = repo + "_" + relative_path;
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

std::string key_download_name(const std::string& repo, std::size_t index) {
  return repo + "_key" + std::to_string(index);
}

void add_key_downloads(stage::fetcher::client::Request& request, const std::string& repo,
                       const std::vector<RepoKey>& keys) {
  constexpr std::uint64_t kKeyCapBytes = 1ULL << 20;  // an archive key is at most ~100 KB
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!is_remote(keys[i].location)) continue;
    base::require(keys[i].location.starts_with("https://"), "repository '" + repo +
                                                                "': its key must come over https or from a local file: " +
                                                                keys[i].location);
    request.downloads.push_back(
        {.url = keys[i].location, .dest_name = key_download_name(repo, i), .max_size = kKeyCapBytes});
  }
}

KeyFile key_file(const std::string& repo, const std::vector<RepoKey>& keys, std::size_t index,
                 const std::filesystem::path& metadata) {
  if (is_remote(keys.at(index).location)) return {metadata / key_download_name(repo, index), kFetchedFile};
  return {local_key_path(keys[index].location), O_RDONLY};
}

std::vector<stage::verifier::client::Key> keys_to_verify(PreparedRequest& p, const std::string& repo,
                                                         const std::vector<RepoKey>& keys,
                                                         const std::filesystem::path& metadata) {
  std::vector<stage::verifier::client::Key> out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const KeyFile file = key_file(repo, keys, i, metadata);
    std::vector<std::string> pins = keys[i].fingerprints;
    if (pins.empty()) pins.emplace_back();
    for (const auto& fingerprint : pins) {
      out.push_back({ipc::FdReference::of_slot(p.add_fd(file.path, file.open_flags)), fingerprint});
    }
  }
  return out;
}

void throw_first_failure(const stage::verifier::client::Result& result) {
  if (!result.failures.empty()) {
    throw base::Error(base::ErrorKind::kInvalidInput, result.failures[0].item + ": " + result.failures[0].reason);
  }
}

std::string source_name(ipc::proto::PackageSource source) {
  using ipc::proto::PackageSource;
  switch (source) {
    case PackageSource::ESSENTIAL: return "essential";
    case PackageSource::KERNEL: return "kernel";
    case PackageSource::BOOTLOADER: return "bootloader";
    case PackageSource::SYSTEM: return "system";
    case PackageSource::DEPENDENCY: return "dependency";
  }
  return "dependency";
}

std::vector<TemplatePackage> template_packages(const config::ImageTemplate& image, const config::GrubNames& grub) {
  std::vector<TemplatePackage> out;
  if (!image.system_config) return out;
  if (image.system_config->kernel) {
    for (const auto& spec : image.system_config->kernel->packages) {
      out.push_back({spec, ipc::proto::PackageSource::KERNEL});
    }
  }
  for (const auto& spec : image.system_config->packages) out.push_back({spec, ipc::proto::PackageSource::SYSTEM});
  // No shim package in the OS data: the installer refuses Secure Boot with GRUB.
  if (boots_grub_through_shim(image) && !grub.shim_package.empty()) {
    out.push_back({grub.shim_package, ipc::proto::PackageSource::BOOTLOADER});
  }
  return out;
}

}  // namespace supervisor
