#include "sandbox/stage_owner.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "ipc/error.hpp"
#include "sandbox/userns.hpp"

namespace sandbox {

std::optional<HostOwner> stage_root_owner() {
  if (geteuid() != 0) return std::nullopt;
  const IdMapPlan plan = plan_id_maps_for({0, 0, "root"}, UserMapping::kSubordinateRange, "/etc/subuid",
                                          "/etc/subgid");
  return HostOwner{plan.uid.front().outside, plan.gid.front().outside};
}

void give_to_stage_root(const std::filesystem::path& path) {
  const std::optional<HostOwner> owner = stage_root_owner();
  if (!owner) return;
  ipc::check_syscall(fchownat(AT_FDCWD, path.c_str(), owner->uid, owner->gid, AT_SYMLINK_NOFOLLOW),
                     "hand to the stages' root user", path.string());
}

}  // namespace sandbox
