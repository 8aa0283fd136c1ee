#include "live/disks.hpp"

#include <sys/sysmacros.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>

namespace live {
namespace {

namespace fs = std::filesystem;

std::string first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\n')) line.pop_back();
  return line;
}

bool is_installable_name(const std::string& name) {
  static constexpr std::array<std::string_view, 5> kSkipped = {"loop", "ram", "zram", "sr", "dm-"};
  return std::none_of(kSkipped.begin(), kSkipped.end(), [&](std::string_view prefix) {
    return name.starts_with(prefix);
  });
}

bool has_devnum(const fs::path& dir, const std::string& wanted) {
  std::error_code ec;
  return fs::exists(dir / "dev", ec) && first_line(dir / "dev") == wanted;
}

}  // namespace

std::string devnum_text(dev_t dev) {
  return std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
}

std::optional<std::string> disk_holding(dev_t dev, const fs::path& sys_block) {
  const std::string wanted = devnum_text(dev);
  std::error_code ec;
  for (const auto& disk : fs::directory_iterator(sys_block, ec)) {
    if (has_devnum(disk.path(), wanted)) return disk.path().filename().string();
    for (const auto& child : fs::directory_iterator(disk.path(), ec)) {
      if (fs::exists(child.path() / "partition", ec) && has_devnum(child.path(), wanted)) {
        return disk.path().filename().string();
      }
    }
  }
  return std::nullopt;
}

std::vector<DiskEntry> installable_disks(const fs::path& sys_block, const std::string& skip) {
  std::vector<DiskEntry> disks;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(sys_block, ec)) {
    DiskEntry disk;
    disk.name = entry.path().filename().string();
    if (!is_installable_name(disk.name) || disk.name == skip) continue;
    // sysfs counts sizes in 512-byte sectors whatever the device's sector size.
    disk.size = std::strtoull(first_line(entry.path() / "size").c_str(), nullptr, 10) * 512;
    if (disk.size == 0) continue;
    disk.model = first_line(entry.path() / "device" / "model");
    disks.push_back(std::move(disk));
  }
  std::sort(disks.begin(), disks.end(), [](const DiskEntry& a, const DiskEntry& b) { return a.name < b.name; });
  return disks;
}

std::string human_size(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text.data();
}

}  // namespace live
