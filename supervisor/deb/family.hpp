// The Debian package family (family.hpp): InRelease-signed repositories,
// Packages indexes, resolution as apt does it, .deb files.
#pragma once

#include "supervisor/family.hpp"

namespace supervisor::deb {

const PackageFamily& family();

}  // namespace supervisor::deb
