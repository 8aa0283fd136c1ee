// Capabilities of the stage, prepared in the parent (libcap allocates) and
// applied in the child without allocating.
#pragma once

#include <sys/capability.h>

#include <memory>
#include <string>
#include <vector>

namespace sandbox {

struct CapFree {
  void operator()(cap_t caps) const noexcept { cap_free(caps); }
};
using CapSet = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

class CapabilityPlan {
 public:
  // `keep`: CAP_* values the stage keeps in every set (bounding, permitted,
  // effective, inheritable, ambient); every other capability is dropped.
  explicit CapabilityPlan(const std::vector<int>& keep);

  // Applies the plan to the calling process. Returns 0 or -errno and names
  // the failing step. Async-signal-safe apart from libcap's capset wrapper.
  int apply(const char** failed_step) const noexcept;

 private:
  std::vector<int> keep_;
  std::vector<int> drop_;
  CapSet caps_;
};

// "CAP_SYS_ADMIN" or "cap_sys_admin" -> its value; throws on unknown names.
int capability_from_name(const std::string& name);
std::string capability_name(int cap);

}  // namespace sandbox
