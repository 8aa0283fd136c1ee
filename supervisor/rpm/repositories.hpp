// The RPM repositories of one build: the OS provider's own (config/osv),
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

namespace supervisor::rpm {

using supervisor::RepoKey;

struct Repository {
  std::string name;                  // unique within the build, safe as a file name
  std::string base_url;              // no trailing '/'; repodata/ is below it
  std::vector<std::string> architectures;  // x86_64, noarch
  std::vector<RepoKey> keys;         // sign repomd.xml.asc and the package headers
  bool gpg_check = true;             // package header signatures are checked
  bool repo_gpg_check = true;        // repomd.xml.asc is fetched and checked
  std::int32_t priority = 500;       // the template's; higher wins, as in the deb family
  std::vector<std::string> allow_packages;

  std::string url_of(const std::string& relative) const { return base_url + "/" + relative; }
  // Neither the metadata nor the packages are checked ([trusted=yes]).
  bool trusted() const { return !gpg_check && !repo_gpg_check; }
};

using RepositoryList = std::shared_ptr<const std::vector<Repository>>;

// The provider's enabled rpm repositories, then the template's: a template
// repository whose codename is a provider repository's name replaces it and
// keeps its signature settings; the others are appended. A template key
// "[trusted=yes]" turns both checks off; relative key paths are resolved
// against the repository URL, as the provider's are.
std::vector<Repository> repositories_of(const config::ProviderData& provider, const config::ImageTemplate& image);

}  // namespace supervisor::rpm
