// The package repositories of one build: the OS provider's own (config/osv),
// replaced or extended by the template's packageRepositories, as one list
// the fetch, verify and resolve steps share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/repository_common.hpp"

namespace supervisor::deb {

using supervisor::RepoKey;

struct Repository {
  std::string name;                  // unique within the build, safe as a file name
  std::string base_url;              // no trailing '/'
  std::string suite;                 // dists/<suite>
  std::vector<std::string> components;
  std::string architecture;          // Debian name: amd64
  std::vector<RepoKey> keys;
  bool trusted = false;              // [trusted=yes]: no signature check (warned)
  std::int32_t priority = 500;
  std::vector<std::string> allow_packages;

  // "main/binary-amd64/Packages.xz" for each component.
  std::vector<std::string> index_paths() const;
  std::string url_of(const std::string& relative) const { return base_url + "/" + relative; }
  // The file its InRelease is downloaded to in the build's metadata directory.
  std::string in_release_name() const { return name + "_InRelease"; }
};

// Template repositories (by codename) replace provider repositories with the
// same suite; the others are appended. For a provider whose repository comes
// from the host's apt sources, template repositories replace it entirely.
// The repositories of one build, shared by its resolution jobs.
using RepositoryList = std::shared_ptr<const std::vector<Repository>>;

std::vector<Repository> repositories_of(const config::ProviderData& provider, const config::ImageTemplate& image);

}  // namespace supervisor::deb
