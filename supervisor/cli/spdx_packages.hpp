// The package set of an SPDX 2.3 document (compare --mode spdx): each
// package's name and versions. The document is untrusted (a file the user
// names, or the SBOM read out of an image): one nested deeper than 64
// levels is refused before it is parsed, and a package without a name is
// an error naming `where`.
#pragma once

#include <string>

#include "supervisor/cli/image_diff.hpp"

namespace supervisor::cli {

PackageVersions spdx_packages(const std::string& text, const std::string& where);

}  // namespace supervisor::cli
