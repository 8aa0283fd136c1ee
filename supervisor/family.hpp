// A package family: what differs between Debian-like and RPM-like
// distributions in a build, behind one small interface. The shape of
// OpenSSH's ssh-sandbox.h: this header, one sibling implementation per family
// (supervisor/deb/, supervisor/rpm/), chosen by family_for(). The rest
// of a build is shared: fetching packages by URL and hash
// (package_fetch.hpp), the cache, archive checks and the image stages.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/build/host_tools.hpp"
#include "supervisor/build/lockfile.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "stages/installer/client.hpp"
#include "supervisor/build/package_fetch.hpp"

namespace supervisor {

// What resolution produced; filled when the last resolution job succeeds.
struct Resolution {
  Lockfile lock;
  std::string dot_graph;
  std::size_t indexes_cached = 0;        // decompressed copies reused from the cache
  std::size_t indexes_decompressed = 0;  // decompressed by the verifier in this run
  std::vector<std::string> cache_refusals;  // cached copies found corrupt (and replaced)
  std::vector<std::string> warnings;        // keys trusted on first use, with their fingerprints
};

class PackageFamily {
 public:
  virtual ~PackageFamily() = default;

  // The provider's pkgType: "deb".
  virtual std::string_view name() const = 0;
  // The file name suffix of a package: ".deb".
  virtual std::string_view package_suffix() const = 0;
  // The host programs its repository steps run (checked before a build).
  virtual std::vector<HostTool> host_tools() const = 0;
  // Adds the jobs that turn the repositories of `provider` and `image` into
  // a lock (fetch metadata, verify it, resolve); `out` is filled by the time
  // Orchestrator::run() returns without throwing. Throws before adding any
  // job when the repositories are unusable.
  virtual void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                                   const config::ImageTemplate& image, const PipelineOptions& options,
                                   Resolution& out) const = 0;
  // The family's own fields of one package in the installer's request (what
  // its section of the lockfile holds); the shared ones are filled by the caller.
  virtual void fill_installer_package(const LockedPackage& package,
                                      stage::installer::client::PackageFile& out) const = 0;
  // The keys each repository's packages must be signed by, when the
  // family's packages carry signatures of their own (rpm); unset: the
  // signed indexes vouch for the packages (deb). Given to every package
  // check (PipelineOptions::package_keys) and to the installer.
  virtual std::optional<PackageKeys> package_keys(const config::ProviderData&, const config::ImageTemplate&) const {
    return std::nullopt;
  }
  // The family's part of the installer's request, once its packages are in
  // it (rpm: the rpmdb path, the keys it imports, the deferred packages).
  virtual void fill_installer_request(const config::DistributionFacts&, const std::optional<PackageKeys>&,
                                      PreparedRequest&, stage::installer::client::Request&) const {}
};

// The family of `provider`'s packages; kInvalidInput for one this build
// cannot install yet.
const PackageFamily& family_for(const config::ProviderData& provider);
// The family a lockfile names (Lockfile::family).
const PackageFamily& family_named(std::string_view name);

}  // namespace supervisor
