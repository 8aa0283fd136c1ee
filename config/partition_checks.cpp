#include <algorithm>
#include <set>

#include "config/partition_types.hpp"
#include "config/rules.hpp"
#include "config/size.hpp"
#include "config/validate.hpp"

namespace config {
namespace {

constexpr std::uint64_t kMbrMaxBytes = 2ULL << 40;  // 32-bit LBA of 512-byte sectors
constexpr std::size_t kMbrMaxPrimaries = 4;
// The diskmaker's RLIMIT_FSIZE (stages/diskmaker/policy.cpp) covers this.
constexpr std::uint64_t kMaxDiskBytes = 4ULL << 40;

struct Extent {
  std::uint64_t start = 0;
  std::optional<std::uint64_t> end;  // nullopt: "0", the rest of the disk
};

std::string partition_path(std::size_t i) { return "disk.partitions[" + std::to_string(i) + "]"; }

bool mounted(const Partition& p) {
  return p.mount_point && !p.mount_point->empty() && *p.mount_point != "none";
}

// The table name of the partition's type as the disk maker will read it:
// typeUUID, when set, takes precedence and `type` is not read at all.
std::optional<std::string_view> declared_type(const Partition& p) {
  if (p.type_uuid) return effective_type_name("", *p.type_uuid);
  if (p.type) return effective_type_name(*p.type, "");
  return std::nullopt;
}

bool is_esp(const Partition& p) {
  return declared_type(p) == "esp" || std::find(p.flags.begin(), p.flags.end(), "esp") != p.flags.end();
}

// Field rules of one partition that do not depend on its neighbours.
void check_partition_fields(const Partition& p, std::size_t i, Issues& issues) {
  const std::string path = partition_path(i);
  if (!p.id || p.id->empty()) issues.add(path + ".id", "is required");
  if (p.type && !p.type_uuid && !rules::is_one_of(*p.type, rules::kPartitionTypes))
    issues.add(path + ".type", "\"" + *p.type + "\" is not a known partition type; expected " +
                                   rules::describe(rules::kPartitionTypes) +
                                   ", or set typeUUID, which takes precedence over type");
  if (p.type_uuid && !rules::is_uuid(*p.type_uuid))
    issues.add(path + ".typeUUID", "\"" + *p.type_uuid + "\" is not a UUID; expected "
                                   "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
  if (p.fs_type && !rules::is_one_of(*p.fs_type, rules::kFsTypes))
    issues.add(path + ".fsType", "\"" + *p.fs_type + "\" is not a known file system; expected " +
                                     rules::describe(rules::kFsTypes));
}

// Parses start and end; nullopt (with an issue) when either is missing or bad.
std::optional<Extent> parse_extent(const Partition& p, std::size_t i, bool last, Issues& issues) {
  const std::string path = partition_path(i);
  Extent e;
  bool ok = true;
  if (!p.start) {
    issues.add(path + ".start", "is required");
    ok = false;
  } else if (SizeResult r = try_parse_size(*p.start); !r.bytes) {
    issues.add(path + ".start", r.error);
    ok = false;
  } else {
    e.start = *r.bytes;
  }
  if (!p.end) {
    issues.add(path + ".end", "is required");
    return std::nullopt;
  }
  SizeResult r = try_parse_size(*p.end);
  if (!r.bytes) {
    issues.add(path + ".end", r.error);
    return std::nullopt;
  }
  if (*r.bytes == 0 && !last) {
    issues.add(path + ".end", "\"0\" (rest of the disk) is only allowed on the last partition");
    return std::nullopt;
  }
  if (*r.bytes != 0) e.end = *r.bytes;
  if (ok && e.end && e.start >= *e.end) {
    issues.add(path + ".end", "must be greater than start (" + *p.start + ")");
    return std::nullopt;
  }
  return ok ? std::optional<Extent>(e) : std::nullopt;
}

// Order, overlap and fit of partitions whose extents parsed.
void check_layout(const Disk& disk, const std::vector<std::optional<Extent>>& extents,
                  std::optional<std::uint64_t> disk_size, Issues& issues) {
  std::optional<std::size_t> previous;
  for (std::size_t i = 0; i < extents.size(); ++i) {
    if (!extents[i]) continue;
    const Extent& e = *extents[i];
    const std::string path = partition_path(i);
    if (previous) {
      const Extent& before = *extents[*previous];
      if (e.start < before.start)
        issues.add(path + ".start", "partitions must be in order: starts before " + partition_path(*previous));
      else if (before.end && e.start < *before.end)
        issues.add(path + ".start", "overlaps " + partition_path(*previous) + " (which ends at " +
                                        *disk.partitions[*previous].end + ")");
    }
    previous = i;
    if (!disk_size) continue;
    if (e.end && *e.end > *disk_size)
      issues.add(path + ".end", "ends beyond the disk (disk.size " + *disk.size + ")");
    else if (!e.end && e.start >= *disk_size)
      issues.add(path + ".start", "starts beyond the disk (disk.size " + *disk.size + ")");
  }
}

void check_unique(const Disk& disk, Issues& issues) {
  std::set<std::string> ids;
  std::set<std::string> mount_points;
  for (std::size_t i = 0; i < disk.partitions.size(); ++i) {
    const Partition& p = disk.partitions[i];
    if (p.id && !p.id->empty() && !ids.insert(*p.id).second)
      issues.add(partition_path(i) + ".id", "duplicate partition id \"" + *p.id + "\"");
    if (mounted(p) && !mount_points.insert(*p.mount_point).second)
      issues.add(partition_path(i) + ".mountPoint", "\"" + *p.mount_point + "\" is mounted twice");
  }
}

// EFI boot from a raw disk needs an EFI system partition.
void check_esp(const ImageTemplate& t, Issues& issues) {
  const bool efi = t.system_config && t.system_config->bootloader &&
                   t.system_config->bootloader->boot_type == "efi";
  const bool raw = t.target && t.target->image_type == "raw";
  if (!efi || !raw || !t.disk) return;
  if (std::none_of(t.disk->partitions.begin(), t.disk->partitions.end(), is_esp))
    issues.add("disk.partitions", "bootloader.bootType is efi but no partition has type esp or flag esp");
}

}  // namespace

bool has_hash_partition(const Disk& disk) {
  return std::any_of(disk.partitions.begin(), disk.partitions.end(), [](const Partition& p) {
    return p.id == "roothashmap" || p.id == "hash" ||
           (declared_type(p) == "linux" && (!p.mount_point || *p.mount_point == "none"));
  });
}

std::vector<Issue> check_partitions(const ImageTemplate& t) {
  Issues issues(t.marks, t.source.string());
  if (!t.disk) return {};
  const Disk& disk = *t.disk;
  std::optional<std::uint64_t> disk_size;
  if (disk.size) {
    SizeResult r = try_parse_size(*disk.size);
    if (!r.bytes)
      issues.add("disk.size", r.error);
    else if (*r.bytes == 0)
      issues.add("disk.size", "must be greater than 0");
    else if (*r.bytes > kMaxDiskBytes)
      issues.add("disk.size", "at most 4TiB: the largest disk file a build writes");
    else
      disk_size = r.bytes;
  }
  std::vector<std::optional<Extent>> extents;
  for (std::size_t i = 0; i < disk.partitions.size(); ++i) {
    check_partition_fields(disk.partitions[i], i, issues);
    extents.push_back(parse_extent(disk.partitions[i], i, i + 1 == disk.partitions.size(), issues));
  }
  check_layout(disk, extents, disk_size, issues);
  check_unique(disk, issues);
  if (disk.partition_table_type == "mbr") {
    if (disk.partitions.size() > kMbrMaxPrimaries)
      issues.add("disk.partitions", "an mbr partition table holds at most 4 primary partitions; found " +
                                        std::to_string(disk.partitions.size()));
    if (disk_size && *disk_size > kMbrMaxBytes)
      issues.add("disk.size", "an mbr partition table addresses at most 2TiB; use gpt");
  }
  check_esp(t, issues);
  return issues.list();
}

}  // namespace config
