// The attended installation's questions on the text console: which disk, the
// host name, an optional user and password, and a typed "yes" to go ahead.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "live/disks.hpp"
#include "live/manifest.hpp"
#include "live/target_setup.hpp"

namespace live {

struct Console {
  std::istream& in;
  std::ostream& out;
  bool terminal = false;  // in is the terminal on fd 0: hide typed passwords
};

struct AttendedChoices {
  std::string disk;  // "/dev/<name>"
  TargetSettings settings;
};

// Asks until each answer is valid; throws base::Error when the console closes
// or the installation is not confirmed. `disks` are the installable disks.
AttendedChoices ask_choices(Console& console, const std::vector<DiskEntry>& disks, const Manifest& manifest);

}  // namespace live
