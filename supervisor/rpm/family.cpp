#include "supervisor/rpm/family.hpp"

#include <fcntl.h>

#include <algorithm>
#include <memory>
#include <set>

#include "base/error.hpp"

#include "supervisor/rpm/repositories.hpp"
#include "supervisor/rpm/resolution.hpp"

namespace supervisor::rpm {
namespace {

// Package signatures are checked against local key files only: a key named
// by URL was fetched into one resolution's workspace, which a build from a
// lockfile does not have.
PackageKeys keys_of(const std::vector<Repository>& repos) {
  PackageKeys out;
  for (const auto& repo : repos) {
    if (!repo.gpg_check) continue;
    RepositoryKeyFiles entry{.repo = repo.name};
    for (const auto& key : repo.keys) {
      const std::string& at = key.location;
      base::require(!at.starts_with("http://") && !at.starts_with("https://"),
                   "repository '" + repo.name + "': its package signatures need its key as a local file, not " + at +
                       " (give keyFiles in the provider or a local pkey in the template)");
      const std::filesystem::path file = at.starts_with("file://") ? at.substr(7) : at;
      std::vector<std::string> pins = key.fingerprints;
      if (pins.empty()) pins.emplace_back();
      for (const auto& pin : pins) entry.keys.emplace_back(file, pin);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

class RpmFamily final : public PackageFamily {
 public:
  std::string_view name() const override { return "rpm"; }
  std::string_view package_suffix() const override { return ".rpm"; }
  // Its installer's rpm and rpmkeys are the installer's (image_tools): lock
  // and fetch run neither.
  std::vector<HostTool> host_tools() const override { return repository_tools(); }
  void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                           const config::ImageTemplate& image, const PipelineOptions& options,
                           Resolution& out) const override {
    auto repos = std::make_shared<const std::vector<Repository>>(repositories_of(provider, image));
    rpm::add_resolution_jobs(orchestrator, provider, image, std::move(repos), options, out);
  }
  // Deferral is provider data, not lock data: see fill_installer_request.
  void fill_installer_package(const LockedPackage&, stage::installer::client::PackageFile&) const override {}
  std::optional<PackageKeys> package_keys(const config::ProviderData& provider,
                                          const config::ImageTemplate& image) const override {
    return keys_of(repositories_of(provider, image));
  }
  void fill_installer_request(const config::DistributionFacts& facts, const std::optional<PackageKeys>& keys,
                              PreparedRequest& p, stage::installer::client::Request& out) const override {
    base::check(keys.has_value(), "the rpm installer request has no repository keys");
    stage::installer::client::RpmFamily rpm{.db_path = facts.rpm_db_path};
    std::set<std::filesystem::path> imported;  // a key shared by repositories goes in once
    for (const auto& repo : *keys) {
      for (const auto& [file, pin] : repo.keys) {
        if (imported.insert(file).second) rpm.keys.push_back(ipc::FdReference::of_slot(p.add_fd(file, O_RDONLY)));
      }
    }
    out.rpm = std::move(rpm);
    for (auto& package : out.packages) {
      package.deferred = std::find(facts.deferred_packages.begin(), facts.deferred_packages.end(), package.name) !=
                         facts.deferred_packages.end();
    }
  }
};

}  // namespace

const PackageFamily& family() {
  static const RpmFamily instance;
  return instance;
}

}  // namespace supervisor::rpm
