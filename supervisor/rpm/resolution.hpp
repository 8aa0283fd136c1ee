// The RPM family's resolution as stage jobs:
//
//   fetch-repomd -> verify-repomd -> fetch-indexes -> verify-metadata -> resolve
//   [-> fetch-filelists -> verify-filelists -> resolve-with-filelists]
//
// Only the fetcher touches the network. repomd.xml (and its detached
// signature when repoGPGCheck is on) is verified first; primary is then
// fetched by the path, sha256 and size the verified repomd lists, checked
// against it again with its decompressed text (cached by hash, as the
// Debian indexes are), and resolved with libsolv. Only when the resolver
// answers that a file dependency needs filelists are the bracketed jobs
// added to the running orchestrator: filelists fetched and checked the
// same way, and the request resolved again with it.
#pragma once

#include <string>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "stages/fetcher/client.hpp"
#include "supervisor/build/package_fetch.hpp"
#include "supervisor/family.hpp"
#include "supervisor/rpm/repositories.hpp"
#include "supervisor/stage/orchestrator.hpp"

namespace supervisor::rpm {

// The repomd <data> kinds a resolution reads.
inline constexpr const char* kPrimary = "primary";
inline constexpr const char* kFilelists = "filelists";

// What anchors `repo`'s repomd.xml and the indexes it lists, named in the
// fetcher's plain http warning: its signature, else (repoGPGCheck off) the
// packages' own signatures, else (trusted) nothing.
stage::fetcher::client::CheckedBy metadata_checked_by(const Repository& repo);

// Adds the jobs above for `repos`; `out` is filled by the time
// Orchestrator::run() returns without throwing.
void add_resolution_jobs(Orchestrator& orchestrator, const config::ProviderData& provider,
                         const config::ImageTemplate& image, RepositoryList repos, const PipelineOptions& options,
                         Resolution& out);

}  // namespace supervisor::rpm
