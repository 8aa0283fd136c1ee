#include "supervisor/rpm/family.hpp"

#include <memory>

#include "supervisor/rpm/repositories.hpp"
#include "supervisor/rpm/resolution.hpp"

namespace supervisor::rpm {
namespace {

class RpmFamily final : public PackageFamily {
 public:
  std::string_view name() const override { return "rpm"; }
  std::string_view package_suffix() const override { return ".rpm"; }
  // The installer runs the host's rpm, and rpmkeys imports the repository
  // keys into the image's rpmdb.
  std::vector<HostTool> host_tools() const override {
    std::vector<HostTool> tools = repository_tools();
    tools.push_back({"rpm", "rpm"});
    tools.push_back({"rpmkeys", "rpm"});
    return tools;
  }
  void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                           const config::ImageTemplate& image, const PipelineOptions& options,
                           Resolution& out) const override {
    auto repos = std::make_shared<const std::vector<Repository>>(repositories_of(provider, image));
    rpm::add_resolution_jobs(orchestrator, provider, image, std::move(repos), options, out);
  }
  // Deferral is provider data, not lock data: see fill_installer_request.
  void fill_installer_package(const LockedPackage&, stage::installer::client::PackageFile&) const override {}
};

}  // namespace

const PackageFamily& family() {
  static const RpmFamily instance;
  return instance;
}

}  // namespace supervisor::rpm
