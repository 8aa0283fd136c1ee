#include "supervisor/deb/repositories.hpp"

#include <algorithm>
#include <sstream>

#include "base/error.hpp"

namespace supervisor::deb {
namespace {

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

Repository from_template(const config::PackageRepository& repo, const std::string& arch, std::size_t index) {
  Repository out;
  out.name = safe_name("template-" + std::to_string(index) + "-" + repo.codename);
  base::require(repo.url.has_value(),
               "packageRepositories[" + std::to_string(index) +
                   "]: local 'path' repositories are not supported for Debian builds yet; serve it and give 'url'");
  out.base_url = trim_slash(*repo.url);
  out.suite = repo.codename;
  out.components = split_words(repo.component.value_or("main"));
  if (out.components.empty()) out.components = {"main"};
  out.architecture = arch;
  std::vector<std::string> keys = repo.pkeys;
  if (repo.pkey) keys.insert(keys.begin(), *repo.pkey);
  for (const auto& key : keys) {
    if (key == "[trusted=yes]") {
      out.trusted = true;
      continue;
    }
    out.keys.push_back({key, repo.key_fingerprints});
  }
  base::require(out.trusted || !out.keys.empty(),
               "packageRepositories[" + std::to_string(index) + "] (" + repo.codename +
                   "): no pkey given; name the repository's signing key or mark it [trusted=yes]");
  out.priority = static_cast<std::int32_t>(repo.priority.value_or(500));
  out.allow_packages = repo.allow_packages;
  return out;
}

}  // namespace

std::vector<std::string> Repository::index_paths() const {
  std::vector<std::string> paths;
  for (const auto& component : components) {
    paths.push_back(component + "/binary-" + architecture + "/Packages.xz");
  }
  return paths;
}

std::vector<Repository> repositories_of(const config::ProviderData& provider, const config::ImageTemplate& image) {
  std::vector<Repository> repos;
  for (const auto& repo : provider.repositories) {
    if (!repo.enabled || repo.type != config::PackageType::kDeb) continue;
    if (repo.from_host_apt && !image.package_repositories.empty()) continue;
    Repository out;
    out.name = safe_name(repo.name);
    out.base_url = trim_slash(repo.base_url);
    out.suite = repo.suite;
    out.components = repo.components;
    out.architecture = provider.package_arch;
    for (const auto& key : repo.keys) out.keys.push_back({key.location, key.fingerprints});
    out.trusted = !repo.repo_gpg_check;
    repos.push_back(std::move(out));
  }
  std::size_t index = 0;
  for (const auto& repo : image.package_repositories) {
    if (repo.url && *repo.url == "<URL>") continue;  // placeholder entries of sample templates
    Repository out = from_template(repo, provider.package_arch, index++);
    auto same_suite = std::find_if(repos.begin(), repos.end(), [&](const Repository& r) {
      return r.suite == out.suite && r.name.rfind("template-", 0) != 0;
    });
    if (same_suite != repos.end()) *same_suite = std::move(out);
    else repos.push_back(std::move(out));
  }
  base::require(!repos.empty(), "no package repository for provider '" + provider.id + "'");
  return repos;
}

}  // namespace supervisor::deb
