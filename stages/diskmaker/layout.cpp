#include "stages/diskmaker/layout.hpp"

#include <algorithm>
#include <set>

#include "base/error.hpp"

namespace stage::diskmaker {
namespace {

std::string mib(std::uint64_t bytes) {
  if (bytes % kAlignment == 0) return std::to_string(bytes / kAlignment) + " MiB";
  return std::to_string(bytes) + " bytes";
}

std::string where(const PartitionSpec& p) { return "partition '" + p.id + "'"; }

void check_mount_point(const PartitionSpec& p, FsKind kind) {
  if (!is_mounted(p)) return;
  const std::string& m = p.mount_point;
  base::require(m.front() == '/', "Failed to accept " + where(p) + ": mountPoint '" + m +
                                     "' is not an absolute path");
  const bool clean = m == "/" || (m.back() != '/' && m.find("//") == std::string::npos &&
                                  m.find("/./") == std::string::npos &&
                                  m.find("/../") == std::string::npos &&
                                  !m.ends_with("/.") && !m.ends_with("/.."));
  base::require(clean, "Failed to accept " + where(p) + ": mountPoint '" + m +
                          "' is not a normalised path (no '.', '..', '//' or trailing '/')");
  base::require(kind == FsKind::kExt || kind == FsKind::kVfat || kind == FsKind::kXfs,
               "Failed to accept " + where(p) + ": mountPoint '" + m + "' needs a file system, but fsType is '" +
                   p.fs_type + "'");
}

void check_alignment(const PartitionSpec& p) {
  base::require(p.start % kAlignment == 0, "Failed to accept " + where(p) + ": start " +
                                              std::to_string(p.start) + " is not aligned to 1 MiB");
  base::require(p.end == 0 || p.end % kAlignment == 0,
               "Failed to accept " + where(p) + ": end " + std::to_string(p.end) + " is not aligned to 1 MiB");
  base::require(p.start >= kAlignment, "Failed to accept " + where(p) +
                                          ": it starts at 0, over the partition table (the first 1 MiB)");
}

// Explicit numbers first, then every 0 gets the smallest free number.
std::vector<std::uint32_t> assign_numbers(const DiskLayout& layout, std::size_t max_count) {
  std::set<std::uint32_t> used;
  for (const auto& p : layout.partitions) {
    if (p.index == 0) continue;
    base::require(p.index <= max_count, "Failed to accept " + where(p) + ": index " + std::to_string(p.index) +
                                           " is above the table's limit of " + std::to_string(max_count));
    base::require(used.insert(p.index).second,
                 "Failed to accept " + where(p) + ": index " + std::to_string(p.index) + " is used twice");
  }
  std::vector<std::uint32_t> numbers;
  std::uint32_t next = 1;
  for (const auto& p : layout.partitions) {
    if (p.index != 0) {
      numbers.push_back(p.index);
      continue;
    }
    while (used.contains(next)) ++next;
    base::require(next <= max_count, "Failed to accept " + where(p) + ": no free partition number is left");
    used.insert(next);
    numbers.push_back(next);
  }
  return numbers;
}

}  // namespace

std::uint64_t last_usable_sector(TableType table, std::uint64_t disk_size) {
  const std::uint64_t sectors = disk_size / kSectorSize;
  const std::uint64_t reserved = table == TableType::kGpt ? kGptBackupSectors + 1 : 1;
  return sectors > reserved ? sectors - reserved : 0;
}

bool is_mounted(const PartitionSpec& partition) {
  return !partition.mount_point.empty() && partition.mount_point != "none";
}

std::vector<PlacedPartition> place_partitions(const DiskLayout& layout) {
  const bool gpt = layout.table == TableType::kGpt;
  const std::size_t max_count = gpt ? kMaxGptPartitions : kMaxMbrPartitions;
  base::require(layout.disk_size > 0 && layout.disk_size % kSectorSize == 0,
               "Failed to accept the disk: its size " + std::to_string(layout.disk_size) +
                   " is not a positive multiple of 512 bytes");
  base::require(!layout.partitions.empty(), "Failed to accept the disk: it has no partitions");
  base::require(layout.partitions.size() <= max_count,
               "Failed to accept the disk: " + std::to_string(layout.partitions.size()) + " partitions, but a " +
                   (gpt ? "GPT" : "MBR") + " table holds at most " + std::to_string(max_count) +
                   (gpt ? "" : " primary partitions"));
  if (!gpt) base::require(layout.disk_size <= (std::uint64_t{1} << 32) * kSectorSize,
                         "Failed to accept the disk: an MBR table addresses at most 2 TiB, the disk is " +
                             mib(layout.disk_size));

  const std::uint64_t last_sector = last_usable_sector(layout.table, layout.disk_size);
  const std::uint64_t usable_end = (last_sector + 1) * kSectorSize;  // exclusive, bytes
  const std::vector<std::uint32_t> numbers = assign_numbers(layout, max_count);

  std::set<std::string> ids;
  std::set<std::string> mount_points;
  std::vector<PlacedPartition> placed;
  std::uint64_t previous_end = 0;
  const PartitionSpec* previous = nullptr;
  for (std::size_t i = 0; i < layout.partitions.size(); ++i) {
    const PartitionSpec& p = layout.partitions[i];
    base::require(!p.id.empty(), "Failed to accept partition " + std::to_string(i + 1) + ": it has no id");
    base::require(ids.insert(p.id).second, "Failed to accept " + where(p) + ": the id is used twice");
    check_mount_point(p, fs_kind(p.fs_type, p.id));
    if (is_mounted(p)) {
      base::require(mount_points.insert(p.mount_point).second,
                   "Failed to accept " + where(p) + ": mountPoint '" + p.mount_point + "' is used twice");
    }
    check_alignment(p);
    base::require(p.start < usable_end, "Failed to accept " + where(p) + ": it starts at " + mib(p.start) +
                                           ", beyond the end of the " + mib(layout.disk_size) + " disk");
    if (previous) {
      base::require(p.start >= previous_end,
                   "Failed to accept " + where(p) + ": it starts at " + mib(p.start) + ", inside partition '" +
                       previous->id + "' (which ends at " + mib(previous_end) +
                       "); partitions must be sorted by start and must not overlap");
    }
    const std::uint64_t end = p.end == 0 ? usable_end : p.end;
    base::require(end > p.start, "Failed to accept " + where(p) + ": end " + mib(p.end) +
                                    " is not after start " + mib(p.start));
    base::require(end <= usable_end,
                 "Failed to accept " + where(p) + ": it ends at " + mib(end) + ", beyond the last usable byte " +
                     std::to_string(usable_end) + " of the " + mib(layout.disk_size) + " disk" +
                     (gpt ? " (the backup GPT takes the last 33 sectors; end 0 means the rest of the disk)" : ""));
    placed.push_back({&p, numbers[i], p.start / kSectorSize, (end - p.start) / kSectorSize});
    previous_end = end;
    previous = &p;
  }
  return placed;
}

std::vector<const PartitionSpec*> moved_out_order(const DiskLayout& layout) {
  std::vector<const PartitionSpec*> moved;
  for (const auto& p : layout.partitions) {
    if (is_mounted(p) && p.mount_point != "/") moved.push_back(&p);
  }
  auto depth = [](const PartitionSpec* p) { return std::count(p->mount_point.begin(), p->mount_point.end(), '/'); };
  std::stable_sort(moved.begin(), moved.end(), [&](const PartitionSpec* a, const PartitionSpec* b) {
    return depth(a) != depth(b) ? depth(a) > depth(b) : a->mount_point > b->mount_point;
  });
  return moved;
}

}  // namespace stage::diskmaker
