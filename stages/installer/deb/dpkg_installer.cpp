// dpkg's PackageInstaller: the packages' Debian fields from the request,
// then bootstrap() (the essential set unpacked, dpkg in the tree in
// batches), the dpkg status file, and policy-rc.d removed at the end.
#include <fcntl.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/installer/deb/bootstrap.hpp"
#include "stages/installer/package_digest.hpp"
#include "stages/installer/package_installer.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
namespace proto = ipc::proto;

// The native architecture of a package set: the most common one other than
// "all" (dpkg's architecture-independent packages).
std::string native_architecture(proto::InstallerRequest::Reader request) {
  std::map<std::string, int> counts;
  for (auto p : request.getPackages()) {
    const std::string arch = p.getArchitecture();
    if (!arch.empty() && arch != "all") ++counts[arch];
  }
  std::string best;
  int most = 0;
  for (const auto& [arch, count] : counts) {
    if (count > most) best = arch, most = count;
  }
  return best;
}

// The packages with their files open; the fds live as long as `owned`.
std::vector<DebPackage> open_packages(proto::InstallerRequest::Reader request, ipc::StageContext& context,
                                      std::vector<base::UniqueFd>& owned) {
  std::vector<DebPackage> packages;
  for (proto::InstallerRequest::PackageFile::Reader p : request.getPackages()) {
    DebPackage deb;
    deb.name = p.getName();
    base::require(!deb.name.empty(), "Failed to decode installer request: a package has no name");
    deb.version = p.getVersion();
    deb.architecture = p.getArchitecture();
    base::require(p.isDeb(), "Failed to decode installer request: package '" + deb.name + "' is not a Debian package");
    deb.essential = p.getDeb().getEssential();
    for (capnp::Text::Reader name : p.getDeb().getPreDepends()) deb.pre_depends.emplace_back(name);
    owned.push_back(context.open(p.getFile(), O_RDONLY, "package " + deb.name));
    deb.fd = owned.back().get();
    require_package_sha256(deb.fd, deb.name, p.getSha256().cStr());
    packages.push_back(std::move(deb));
  }
  return packages;
}

void install_packages(proto::InstallerRequest::Reader request, const fs::path& root, ipc::StageContext& context) {
  std::vector<base::UniqueFd> owned;
  context.progress({.phase = "check packages", .total = request.getPackages().size()});
  const std::vector<DebPackage> packages = open_packages(request, context, owned);
  BootstrapOptions options;
  options.native_architecture = native_architecture(request);
  options.on_step = [&context](const std::string& step) { context.progress({.phase = step}); };
  std::uint32_t installed = 0;
  bootstrap(root, packages, options, [&](std::size_t index, std::size_t count, const Batch& batch) {
    context.check_cancelled();
    const std::string& first = packages[batch.packages.front()].name;
    context.log(ipc::LogLevel::kInfo, "dpkg batch " + std::to_string(index + 1) + "/" + std::to_string(count) + ": " +
                                          std::to_string(batch.packages.size()) + " package(s) from " + first +
                                          (batch.essential ? " (essential set, unpacked first)" : ""));
    context.progress({.phase = "install", .done = index, .total = count, .files_done = installed,
                      .files_total = static_cast<std::uint32_t>(packages.size()), .item = first});
    installed += static_cast<std::uint32_t>(batch.packages.size());
  });
  context.progress({.phase = "install", .done = installed, .total = installed, .files_done = installed,
                    .files_total = installed});
}

class DpkgInstaller final : public PackageInstaller {
 public:
  void bootstrap(proto::InstallerRequest::Reader request, const fs::path& root,
                 ipc::StageContext& context) const override {
    install_packages(request, root, context);
  }

  std::vector<TreePackage> installed(const fs::path& root) const override {
    std::vector<TreePackage> out;
    for (const DpkgStatusEntry& p : read_dpkg_status(root)) {
      if (p.status == "install ok installed") out.push_back({p.name, p.version, p.architecture, p.maintainer});
    }
    return out;
  }

  void finish(const fs::path& root) const override { remove_policy_rc_d(root); }
};

}  // namespace

const PackageInstaller& dpkg_installer() {
  static const DpkgInstaller installer;
  return installer;
}

}  // namespace stage::installer
