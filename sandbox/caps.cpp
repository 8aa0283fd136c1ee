#include "sandbox/caps.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>

#include "base/error.hpp"

namespace sandbox {

CapabilityPlan::CapabilityPlan(const std::vector<int>& keep) : keep_(keep), caps_(cap_init()) {
  base::check(caps_ != nullptr, "Failed to allocate a capability set");
  const int last = static_cast<int>(cap_max_bits()) - 1;
  for (int cap : keep_) {
    base::require(cap >= 0 && cap <= last, "Failed to keep capability " + std::to_string(cap) +
                                              ": unknown to this kernel");
  }
  for (int cap = 0; cap <= last; ++cap) {
    if (std::find(keep_.begin(), keep_.end(), cap) == keep_.end()) drop_.push_back(cap);
  }
  if (!keep_.empty()) {
    std::vector<cap_value_t> values(keep_.begin(), keep_.end());
    const int n = static_cast<int>(values.size());
    for (cap_flag_t flag : {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE}) {
      base::check_syscall(cap_set_flag(caps_.get(), flag, n, values.data(), CAP_SET),
                         "build capability set", "keep-list");
    }
  }
}

int CapabilityPlan::apply(const char** failed_step) const noexcept {
  // Bounding set first: dropping needs CAP_SETPCAP, which goes next.
  for (int cap : drop_) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
      *failed_step = "drop capability from the bounding set";
      return -errno;
    }
  }
  if (cap_set_proc(caps_.get()) < 0) {
    *failed_step = "set effective/permitted/inheritable capabilities";
    return -errno;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    *failed_step = "clear ambient capabilities";
    return -errno;
  }
  // Ambient keeps the list across execve of binaries without file caps when
  // the stage drops uid 0 (dpkg running maintainer scripts as other users).
  for (int cap : keep_) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      *failed_step = "raise ambient capability";
      return -errno;
    }
  }
  return 0;
}

int capability_from_name(const std::string& name) {
  cap_value_t value = 0;
  base::require(cap_from_name(name.c_str(), &value) == 0, "Failed to parse capability name '" + name + "'");
  return value;
}

std::string capability_name(int cap) {
  char* text = cap_to_name(static_cast<cap_value_t>(cap));
  base::check(text != nullptr, "Failed to name capability " + std::to_string(cap));
  std::string result(text);
  cap_free(text);
  return result;
}

}  // namespace sandbox
