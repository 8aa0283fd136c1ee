// `build TEMPLATE --check-reproducible` (docs/reproducible-builds.md,
// "Checking a build"): the build as usual, then the same template again
// from the lockfile the first build published, in a scratch work directory
// under <work_dir>/<provider-id>/builds/ (removed afterwards; the package
// cache shared, its packages are hash-checked), with the saved build
// environment used the other way (copied by the first: installed without it;
// installed by the first: the one it saved copied). Every output is
// compared by SHA-256 (reproducibility_report.hpp); a disk image that
// differs is inspected on both sides as `compare` does. The second build's
// outputs are kept in <work_dir>/<provider-id>/reproducibility-check/
// <systemConfig.name>/ when they differ.
#pragma once

#include "supervisor/build/build.hpp"
#include "supervisor/cli/cli.hpp"

namespace supervisor::cli {

// kExitOk when every output is the same; kExitFailure when any differs (or
// either build fails: it throws then, as a plain build does).
int run_check_reproducible(const Invocation& inv, BuildRequest request);

}  // namespace supervisor::cli
