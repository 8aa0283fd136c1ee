// The host programs a stage executes (stages see the host's /usr read-only).
// Each stage declares its own next to its policy (stages/<name>/policy.hpp);
// the supervisor finds them through the stage table and checks them before
// a build starts, so a missing one is one clear error, not a stage failing
// half-way.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sandbox {

struct HostProgram {
  std::string program;  // searched in /usr/bin and /usr/sbin (what stages see)
  std::string package;  // the Debian package that provides it

  bool operator==(const HostProgram&) const = default;
};

// What of an image decides which programs its stages run.
struct ImageFeatures {
  std::vector<std::string> fs_types;                           // partition fsType values
  std::vector<std::pair<std::string, std::string>> artifacts;  // (type, compression) of each disk file
  bool uki = false;                                            // a unified kernel image is assembled
  bool verity = false;                                         // a dm-verity root (immutability)
  std::string package_family;                                  // the provider's pkgType: "deb", "rpm"
  bool secure_boot = false;                                    // EFI binaries are signed (Secure Boot keys given)
};

// A stage's declaration: the programs it runs for an image with `features`.
using HostProgramsOf = std::vector<HostProgram> (*)(const ImageFeatures& features);

}  // namespace sandbox
