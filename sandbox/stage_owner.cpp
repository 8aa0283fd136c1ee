#include "sandbox/stage_owner.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
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
  const base::UniqueFd fd{base::check_syscall(open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC), "open", path.string())};
  struct stat st {};
  base::check_syscall(fstat(fd.get(), &st), "inspect", path.string());
  if (st.st_uid == owner->uid && st.st_gid == owner->gid) return;
  // Only what root made changes hands: a user's directory named in a
  // request keeps its owner (the stage then cannot write it, and says so).
  base::require(st.st_uid == 0, "Refusing to hand '" + path.string() + "' to the stages' root user (uid " +
                                   std::to_string(owner->uid) + "): it belongs to uid " +
                                   std::to_string(st.st_uid) + ", not to root");
  base::check_syscall(fchownat(fd.get(), "", owner->uid, owner->gid, AT_EMPTY_PATH),
                     "hand to the stages' root user", path.string());
}

}  // namespace sandbox
