// The RPM family's resolution as stage jobs:
//
//   fetch-repomd -> verify-repomd -> fetch-indexes -> verify-metadata -> resolve
//
// Only the fetcher touches the network. repomd.xml (and its detached
// signature when repoGPGCheck is on) is verified first; primary and
// filelists are then fetched by the paths, sha256 and sizes the verified
// repomd lists, checked against it again with their decompressed text
// (cached by hash, as the Debian indexes are), and resolved with libsolv.
#pragma once

#include <string>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/build/package_fetch.hpp"
#include "supervisor/family.hpp"
#include "supervisor/rpm/repositories.hpp"
#include "supervisor/stage/orchestrator.hpp"

namespace supervisor::rpm {

// The repomd <data> kinds a resolution reads.
inline constexpr const char* kPrimary = "primary";
inline constexpr const char* kFilelists = "filelists";

// Adds the jobs above for `repos`; `out` is filled by the time
// Orchestrator::run() returns without throwing.
void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                         const config::ImageTemplate& image, RepositoryList repos, const PipelineOptions& options,
                         Resolution& out);

}  // namespace supervisor::rpm
