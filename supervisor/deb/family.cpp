#include "supervisor/deb/family.hpp"

#include <memory>

#include "supervisor/deb/repositories.hpp"
#include "supervisor/deb/resolution.hpp"

namespace supervisor::deb {
namespace {

class DebFamily final : public PackageFamily {
 public:
  std::string_view name() const override { return "deb"; }
  std::string_view package_suffix() const override { return ".deb"; }
  std::vector<HostTool> host_tools() const override { return repository_tools(); }
  void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                           const config::ImageTemplate& image, const PipelineOptions& options,
                           Resolution& out) const override {
    auto repos = std::make_shared<const std::vector<Repository>>(repositories_of(provider, image));
    deb::add_resolution_jobs(orchestrator, provider, image, std::move(repos), options, out);
  }
  void fill_installer_package(const LockedPackage& package,
                              stage::installer::client::PackageFile& out) const override {
    out.essential = package.deb.essential;
    out.pre_depends = package.deb.pre_depends;
  }
};

}  // namespace

const PackageFamily& family() {
  static const DebFamily instance;
  return instance;
}

}  // namespace supervisor::deb
