// The host programs the disk maker runs and the Debian packages providing
// them. In the policy library, so the supervisor's stage table can name
// them before a build without linking the disk maker itself.
#include <array>
#include <set>

#include "stages/diskmaker/fs_kind.hpp"
#include "stages/diskmaker/policy.hpp"
#include "stages/diskmaker/tools.hpp"

namespace stage::diskmaker {
namespace {

struct ToolPackage {
  std::string_view program;
  std::string_view package;
};

constexpr std::array kToolPackages = {
    ToolPackage{"sfdisk", "fdisk"},        ToolPackage{"mkfs.ext4", "e2fsprogs"},
    ToolPackage{"mkfs.vfat", "dosfstools"}, ToolPackage{"mcopy", "mtools"},
    ToolPackage{"mmd", "mtools"},          ToolPackage{"mkswap", "util-linux"},
    ToolPackage{"qemu-img", "qemu-utils"}, ToolPackage{"xz", "xz-utils"},
    ToolPackage{"zstd", "zstd"},           ToolPackage{"pigz", "pigz"},
    ToolPackage{"gzip", "gzip"},           ToolPackage{"mkfs.xfs", "xfsprogs"},
    ToolPackage{"veritysetup", "cryptsetup-bin"}, ToolPackage{"debugfs", "e2fsprogs"},
};

}  // namespace

std::string_view tool_package(std::string_view program) {
  for (const auto& tool : kToolPackages) {
    if (tool.program == program) return tool.package;
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> diskmaker_tools(
    const std::vector<std::string>& fs_types, const std::vector<std::pair<std::string, std::string>>& artifacts,
    bool verity) {
  std::vector<std::string> programs = {"sfdisk"};
  if (verity) programs.push_back("veritysetup");
  for (const auto& fs : fs_types) {
    switch (fs_kind(fs, "?")) {
      case FsKind::kExt: programs.insert(programs.end(), {"mkfs.ext4", "debugfs"}); break;
      case FsKind::kVfat: programs.insert(programs.end(), {"mkfs.vfat", "mcopy"}); break;
      case FsKind::kSwap: programs.push_back("mkswap"); break;
      case FsKind::kXfs: programs.push_back("mkfs.xfs"); break;
      case FsKind::kNone: break;
    }
  }
  for (const auto& [type, compression] : artifacts) {
    if (type != "raw") programs.push_back("qemu-img");
    if (compression == "gz") programs.push_back("pigz");
    if (compression == "xz") programs.push_back("xz");
    if (compression == "zstd") programs.push_back("zstd");
  }
  std::vector<std::pair<std::string, std::string>> tools;
  std::set<std::string> seen;
  for (const auto& program : programs) {
    if (seen.insert(program).second) tools.emplace_back(program, std::string(tool_package(program)));
  }
  return tools;
}

std::vector<sandbox::HostProgram> diskmaker_host_programs(const sandbox::ImageFeatures& features) {
  std::vector<sandbox::HostProgram> programs;
  for (auto& [program, package] : diskmaker_tools(features.fs_types, features.artifacts, features.verity)) {
    programs.push_back({std::move(program), std::move(package)});
  }
  return programs;
}

}  // namespace stage::diskmaker
