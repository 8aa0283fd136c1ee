// What the families' repository code shares, apart from the index cache
// (family_indexes.hpp): key locations and their pins, file names of one
// repository's downloads, the verifier's first failure and the names a
// lockfile gives a package's source.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "stages/fetcher/client.hpp"
#include "stages/resolver/client.hpp"
#include "stages/verifier/client.hpp"
#include "supervisor/stage/orchestrator.hpp"

namespace supervisor {

struct RepoKey {
  std::string location;                   // absolute path, file:// or https:// URL
  std::vector<std::string> fingerprints;  // optional pin
};

// A repository's base URL without trailing slashes.
std::string trim_slash(std::string url);
// `text` with every character but [A-Za-z0-9._-] replaced by '_'.
std::string safe_name(std::string text);

// A key fetched by the fetcher (http or https) rather than read from a file.
bool is_remote(const std::string& location);
// The file a local key location names ("file://" stripped).
std::string local_key_path(const std::string& location);

// Downloaded files of one repository, named so repositories never collide.
std::string download_name(const std::string& repo, const std::string& relative_path);
std::string key_download_name(const std::string& repo, std::size_t index);

// Downloads of `repo`'s keys given by URL, https only (a key is what its
// signatures are checked with), each capped at 1 MiB.
void add_key_downloads(stage::fetcher::client::Request& request, const std::string& repo,
                       const std::vector<RepoKey>& keys);

// Where key `index` of `repo` is read from: a fetched one from `metadata`
// (opened as fetched files are: no symlink followed), a local one from its file.
struct KeyFile {
  std::filesystem::path path;
  int open_flags = 0;
};
KeyFile key_file(const std::string& repo, const std::vector<RepoKey>& keys, std::size_t index,
                 const std::filesystem::path& metadata);

// One key entry per pinned fingerprint (or one unpinned entry) of each of
// `repo`'s keys: fetched ones from `metadata`, local ones from their files.
std::vector<stage::verifier::client::Key> keys_to_verify(PreparedRequest& p, const std::string& repo,
                                                         const std::vector<RepoKey>& keys,
                                                         const std::filesystem::path& metadata);

// Throws the verifier's first failure (kInvalidInput), if any.
void throw_first_failure(const stage::verifier::client::Result& result);

// The lockfile's name of why a package is there: "essential", "system", ...
std::string source_name(ipc::proto::PackageSource source);

// What the template asks for: its kernel packages, then its system packages,
// as written ("name" or a family's "name_version" pin), each once; then
// what its boot chain needs from the OS data `grub`: with Secure Boot keys
// and GRUB on a raw disk, the shim's package (grub.secureBoot.shimPackage).
struct TemplatePackage {
  std::string spec;
  ipc::proto::PackageSource source;
};
std::vector<TemplatePackage> template_packages(const config::ImageTemplate& image, const config::GrubNames& grub);

}  // namespace supervisor
