// The archive-content check of a build's packages, apart from downloading
// them: apt only hashes what it downloads, and so does the download path
// (package_fetch.hpp), but nothing is installed before the verifier has walked
// each package's tars (stages/verifier/deb/archive_check.hpp). The verdict is
// kept per cache object (PackageCache::mark_archive_checked), so a package is
// checked once per cache, not once per build.
#pragma once

#include <cstddef>
#include <string>

#include "supervisor/build/package_fetch.hpp"
#include "supervisor/build/lockfile.hpp"
#include "supervisor/log.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/cache/package_cache.hpp"

namespace supervisor {

// What check-archives did; filled when its job succeeds.
struct ArchiveChecks {
  std::size_t checked = 0;  // checked by this build, and marked
  std::size_t already = 0;  // marked by an earlier build: not checked again
};

// Adds the job "check-archives" (after job `after`; empty: at once) unless
// every package of `lock` has an archive-check marker in `cache`. The
// verifier opens each unmarked object of `files` and checks its contents
// (no absolute path, no "..", no symlink escape, ...) on every core. Each
// accepted object gets its marker; each refused one is evicted, and the job
// fails naming the package, the tar member and the repository. A lock of
// more than kMaxPackagesPerCheck packages is checked by a chain of runs,
// "check-archives", "check-archives-2", ...
void add_archive_check_jobs(Orchestrator& orchestrator, const Lockfile& lock, PackageCache& cache,
                            const PackageFiles& files, const std::string& after, ArchiveChecks& out);

// Adds those jobs to `run`, runs them and logs what was checked: what
// `build` and `fetch --check-archives` call once every package of `lock` is
// in the cache (`files`).
ArchiveChecks check_archives(Orchestrator& run, const Lockfile& lock, PackageCache& cache, const PackageFiles& files,
                             Logger& log);

// A verifier run holds every package it checks open at once; RLIMIT_NOFILE
// (sandbox/stage_policy.cpp) bounds how many one run may hold.
inline constexpr std::size_t kMaxPackagesPerCheck = 2000;

}  // namespace supervisor
