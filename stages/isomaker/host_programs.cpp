// The host programs the isomaker runs and the Debian packages providing
// them. In the policy library, so the supervisor's stage table can name them
// before a build without linking the isomaker itself. grub-mkimage is not
// among them: it is the tree's own.
#include "stages/isomaker/host_programs.hpp"

#include "stages/isomaker/policy.hpp"

namespace stage::isomaker {

std::vector<sandbox::HostProgram> iso_programs(std::string_view package_family) {
  std::vector<sandbox::HostProgram> programs = {
      {"xorriso", "xorriso"}, {"mformat", "mtools"}, {"mmd", "mtools"}, {"mcopy", "mtools"}};
  if (package_family == "deb") programs.push_back({"apt-ftparchive", "apt-utils"});
  if (package_family == "rpm") programs.push_back({"createrepo_c", "createrepo-c"});
  return programs;
}

std::vector<sandbox::HostProgram> isomaker_host_programs(const sandbox::ImageFeatures& features) {
  return iso_programs(features.package_family);
}

}  // namespace stage::isomaker
