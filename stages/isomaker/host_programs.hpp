// The host programs an ISO needs, by the family of the packages it carries
// ("deb", "rpm" or "" for none). An initrd needs none (libarchive).
#pragma once

#include <string_view>
#include <vector>

#include "sandbox/host_program.hpp"

namespace stage::isomaker {

std::vector<sandbox::HostProgram> iso_programs(std::string_view package_family);

}  // namespace stage::isomaker
