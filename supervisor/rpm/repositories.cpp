#include "supervisor/rpm/repositories.hpp"

#include <algorithm>
#include <cctype>

#include "base/error.hpp"

namespace supervisor::rpm {
namespace {

bool is_absolute_location(const std::string& location) {
  return location.starts_with('/') || location.starts_with("https://") || location.starts_with("http://") ||
         location.starts_with("file://");
}

Repository from_provider(const config::Repository& repo, const config::ProviderData& provider) {
  Repository out;
  out.name = safe_name(repo.name);
  out.base_url = trim_slash(repo.base_url);
  out.architectures = repo.architectures;
  if (out.architectures.empty()) out.architectures = {provider.package_arch, "noarch"};
  for (const auto& key : repo.keys) out.keys.push_back({key.location, key.fingerprints});
  out.gpg_check = repo.gpg_check;
  out.repo_gpg_check = repo.repo_gpg_check;
  return out;
}

Repository from_template(const config::PackageRepository& repo, const config::ProviderData& provider,
                         std::size_t index) {
  const std::string where = "packageRepositories[" + std::to_string(index) + "] (" + repo.codename + ")";
  base::require(repo.url.has_value(),
               where + ": local 'path' repositories are not supported for RPM builds yet; serve it and give 'url'");
  Repository out;
  out.name = safe_name("template-" + std::to_string(index) + "-" + repo.codename);
  out.base_url = trim_slash(*repo.url);
  out.architectures = {provider.package_arch, "noarch"};
  std::vector<std::string> keys = repo.pkeys;
  if (repo.pkey) keys.insert(keys.begin(), *repo.pkey);
  bool trusted = false;
  for (const auto& key : keys) {
    if (key == "[trusted=yes]") {
      trusted = true;
      continue;
    }
    out.keys.push_back({is_absolute_location(key) ? key : out.url_of(key), repo.key_fingerprints});
  }
  base::require(trusted || !out.keys.empty(),
               where + ": no pkey given; name the repository's signing key or mark it [trusted=yes]");
  out.gpg_check = out.repo_gpg_check = !trusted;
  out.priority = static_cast<std::int32_t>(repo.priority.value_or(500));
  out.allow_packages = repo.allow_packages;
  return out;
}

}  // namespace

std::vector<Repository> repositories_of(const config::ProviderData& provider, const config::ImageTemplate& image) {
  std::vector<Repository> repos;
  std::vector<std::string> provider_names;  // as written, for the template's codenames
  for (const auto& repo : provider.repositories) {
    if (!repo.enabled || repo.type != config::PackageType::kRpm) continue;
    repos.push_back(from_provider(repo, provider));
    provider_names.push_back(repo.name);
  }
  std::size_t index = 0;
  for (const auto& repo : image.package_repositories) {
    if (repo.url && *repo.url == "<URL>") continue;  // placeholder entries of sample templates
    Repository out = from_template(repo, provider, index++);
    const auto same = std::find(provider_names.begin(), provider_names.end(), repo.codename);
    if (same == provider_names.end()) {
      repos.push_back(std::move(out));
      continue;
    }
    Repository& replaced = repos[static_cast<std::size_t>(same - provider_names.begin())];
    if (!out.trusted()) {
      out.gpg_check = replaced.gpg_check;
      out.repo_gpg_check = replaced.repo_gpg_check;
    }
    replaced = std::move(out);
  }
  base::require(!repos.empty(), "no enabled rpm repository for provider '" + provider.id + "'");
  return repos;
}

}  // namespace supervisor::rpm
