// One installation from the medium onto a disk, start to end: the manifest,
// the disk (asked on the console or given), the verified image written, the
// partition table and the root file system grown, the attended settings.
#pragma once

#include <filesystem>
#include <string>

#include "base/unique_fd.hpp"
#include "live/attended.hpp"

namespace live {

enum class Mode { kAuto, kAttended, kUnattended };

struct InstallOptions {
  std::filesystem::path medium = "/cdrom";
  Mode mode = Mode::kAuto;
  std::string disk;  // --disk; "" = the manifest's diskPath, or ask
  std::filesystem::path sys = "/sys";
  std::filesystem::path dev = "/dev";  // where the other consoles are told the outcome
  std::filesystem::path run_dir = "/run/live-installer";
};

inline constexpr const char* kCompleteLine = "live-installer: installation complete";
inline constexpr const char* kFailedPrefix = "live-installer: installation failed: ";

// Installs; throws base::Error saying why not. `lock` receives the lock of
// take_install_lock, taken just before the disk is written.
void install(const InstallOptions& options, Console& console, base::UniqueFd& lock);

// install() under the lock shared by the instances on all consoles; returns
// the outcome line (kCompleteLine or kFailedPrefix + reason), also printed,
// and a completed installation's line also on the other consoles
// (other_consoles.hpp).
std::string run_installation(const InstallOptions& options, Console& console);

}  // namespace live
