// The Debian family's resolution as stage jobs:
//
//   fetch-releases -> verify-releases -> fetch-indexes -> verify-metadata -> resolve
//
// Only the fetcher touches the network; indexes are fetched by the hash the
// verified InRelease lists (by-hash/SHA256/<hash> when it offers
// Acquire-By-Hash, as apt does), used only after the verifier accepted them
// against that InRelease again, and the resolver picks the same package set
// as apt.
#pragma once

#include <string>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/deb/repositories.hpp"
#include "supervisor/family.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/build/package_fetch.hpp"

namespace supervisor::deb {

// The packages the template asks for, in the order: essential set of the
// provider's build environment, kernel, system packages. "name_version"
// becomes a pin.
struct RequestedPackage {
  std::string name;
  std::string version_pin;  // "= 1.2-3" or empty
  ipc::proto::PackageSource source;
};
std::vector<RequestedPackage> requested_packages(const config::ProviderData& provider,
                                                 const config::ImageTemplate& image);

// Adds the jobs above for `repos`; `out` is
// filled by the time Orchestrator::run() returns without throwing.
void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                         const config::ImageTemplate& image, RepositoryList repos, const PipelineOptions& options,
                         Resolution& out);

}  // namespace supervisor::deb
