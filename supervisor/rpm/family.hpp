// The RPM package family (family.hpp): repomd-described repositories,
// primary and filelists indexes, resolution with libsolv, .rpm files
// installed by the host's rpm into the image.
#pragma once

#include "supervisor/family.hpp"

namespace supervisor::rpm {

const PackageFamily& family();

}  // namespace supervisor::rpm
