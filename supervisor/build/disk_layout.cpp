#include "supervisor/build/disk_layout.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "config/partition_types.hpp"
#include "config/size.hpp"
#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace supervisor {
namespace {

std::string partition_path(std::size_t i) { return "disk.partitions[" + std::to_string(i) + "]"; }

bool is_mounted(const config::Partition& p) {
  return p.mount_point && !p.mount_point->empty() && *p.mount_point != "none";
}

bool has_flag(const config::Partition& p, std::string_view flag) {
  return std::find(p.flags.begin(), p.flags.end(), flag) != p.flags.end();
}

// The template's file system name as the request names it.
std::string request_fs_type(const config::Partition& p, const std::string& where) {
  const std::string fs = p.fs_type.value_or("");
  if (fs.empty() || fs == "none") return "none";
  if (fs == "linux-swap" || fs == "swap") return "swap";
  static constexpr std::array<std::string_view, 7> kKnown{"ext2", "ext3", "ext4", "xfs", "fat16", "fat32", "vfat"};
  base::require(std::find(kKnown.begin(), kKnown.end(), fs) != kKnown.end(),
               where + ".fsType: unknown file system '" + fs + "'");
  return fs;
}

bool is_fat(std::string_view fs) { return fs == "fat16" || fs == "fat32" || fs == "vfat"; }

std::uint64_t parse_position(const std::optional<std::string>& text, const std::string& where) {
  base::require(text.has_value(), where + " is required");
  base::ErrorContext ctx{"reading", where};
  const std::uint64_t bytes = config::parse_size(*text);
  base::require(bytes % kPartitionAlignment == 0,
               where + " (" + *text + ") is not a multiple of 1 MiB; partitions are aligned to 1 MiB");
  return bytes;
}

std::uint8_t fsck_pass(const PlannedPartition& p) {
  if (p.fs_type == "swap") return 0;
  return p.mount_point == "/" ? 1 : 2;
}

std::size_t depth(const std::string& mount_point) {
  return mount_point == "/" ? 0 : static_cast<std::size_t>(std::count(mount_point.begin(), mount_point.end(), '/'));
}

std::vector<FstabLine> fstab_lines(const std::vector<PlannedPartition>& partitions) {
  std::vector<const PlannedPartition*> mounted;
  for (const auto& p : partitions) {
    if (p.fs_type == "swap" || (!p.mount_point.empty() && p.fs_type != "none")) mounted.push_back(&p);
  }
  // Parents before children; swap last.
  std::stable_sort(mounted.begin(), mounted.end(), [](const PlannedPartition* a, const PlannedPartition* b) {
    const bool a_swap = a->fs_type == "swap", b_swap = b->fs_type == "swap";
    if (a_swap != b_swap) return b_swap;
    return depth(a->mount_point) < depth(b->mount_point);
  });
  std::vector<FstabLine> lines;
  for (const PlannedPartition* p : mounted) {
    if (p->fs_type == "swap") {
      lines.push_back({"UUID=" + p->fs_uuid, "none", "swap", "sw", 0, 0});
      continue;
    }
    lines.push_back({"UUID=" + p->fs_uuid, p->mount_point, is_fat(p->fs_type) ? "vfat" : p->fs_type,
                     p->mount_options.empty() ? "defaults" : p->mount_options, 0, fsck_pass(*p)});
  }
  return lines;
}

PlannedPartition plan_partition(const config::Partition& p, std::size_t i, bool gpt, const UuidSource& uuids) {
  const std::string where = partition_path(i);
  PlannedPartition out;
  out.id = p.id.value_or("part" + std::to_string(i + 1));
  out.index = static_cast<std::uint32_t>(p.index.value_or(static_cast<std::int64_t>(i + 1)));
  out.name = p.name.value_or(out.id);
  {
    // typeUUID, when set, is the type: `type` is not read (it may be a name
    // only the template's author knows, like the reference's `bios-boot`).
    base::ErrorContext ctx{"reading", where + (p.type_uuid ? ".typeUUID" : ".type")};
    out.type = gpt ? config::gpt_type_guid(p.type.value_or(""), p.type_uuid.value_or(""))
                   : config::mbr_type_byte(p.type.value_or(""), p.type_uuid.value_or(""));
  }
  out.start = parse_position(p.start, where + ".start");
  out.end = parse_position(p.end, where + ".end");
  base::require(out.end == 0 || out.end > out.start, where + ".end must be greater than its start");
  out.fs_type = request_fs_type(p, where);
  out.fs_label = p.fs_label.value_or("");
  if (is_mounted(p)) out.mount_point = *p.mount_point;
  out.mount_options = p.mount_options.value_or("");
  out.flags = p.flags;
  const std::string uuid = uuids("fs-uuid:" + out.id);
  out.fs_uuid = is_fat(out.fs_type) ? fat_volume_id(uuid) : uuid;
  if (gpt) out.part_uuid = uuids("part-uuid:" + out.id);
  return out;
}

}  // namespace

std::string random_uuid() {
  std::array<unsigned char, 16> bytes{};
  base::UniqueFd fd(base::check_syscall(::open("/dev/urandom", O_RDONLY | O_CLOEXEC), "open", "/dev/urandom"));
  const ssize_t n = ::read(fd.get(), bytes.data(), bytes.size());
  base::check_syscall(n, "read", "/dev/urandom");
  base::check(n == static_cast<ssize_t>(bytes.size()), "short read from /dev/urandom");
  return uuid_v4_text(bytes);
}

std::string uuid_v4_text(std::span<const unsigned char, 16> bytes) {
  std::string text;
  char hex[3];
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    unsigned char byte = bytes[i];
    if (i == 6) byte = static_cast<unsigned char>((byte & 0x0f) | 0x40);  // version 4
    if (i == 8) byte = static_cast<unsigned char>((byte & 0x3f) | 0x80);  // RFC 4122 variant
    std::snprintf(hex, sizeof hex, "%02x", byte);
    text += hex;
  }
  return text;
}

UuidSource random_uuids() {
  return [](std::string_view) { return random_uuid(); };
}

namespace {

// The reference's test for the hash partition (config::has_hash_partition):
// the id names it, or it is an unmounted partition of type linux.
bool is_hash_partition(const config::Partition& p) {
  if (p.id == "roothashmap" || p.id == "hash") return true;
  const auto type = config::effective_type_name(p.type.value_or(""), p.type_uuid.value_or(""));
  return type == "linux" && !is_mounted(p);
}

}  // namespace

void plan_verity(DiskLayout& layout, const config::Disk& disk) {
  base::require(layout.gpt, "systemConfig.immutability.enabled: a dm-verity root needs a GPT partition table "
                            "(the kernel command line names its partitions by PARTUUID)");
  VerityPlan plan;
  for (std::size_t i = 0; i < disk.partitions.size(); ++i) {
    PlannedPartition& p = layout.partitions[i];
    if (p.mount_point == "/") plan = {p.id, plan.hash_id, p.part_uuid, plan.hash_part_uuid};
    if (plan.hash_id.empty() && is_hash_partition(disk.partitions[i])) {
      plan.hash_id = p.id;
      plan.hash_part_uuid = p.part_uuid;
      p.fs_type = "none";  // veritysetup fills it
    }
  }
  base::require(!plan.hash_id.empty(), "systemConfig.immutability.enabled: the disk has no partition for the "
                                       "dm-verity hash tree (id roothashmap or hash, or type linux with no mount point)");
  base::require(plan.hash_id != plan.data_id, "systemConfig.immutability.enabled: partition '" + plan.data_id +
                                                  "' cannot be both / and the dm-verity hash partition");
  for (FstabLine& line : layout.fstab) {
    if (line.mount_point == "/") line.options = "ro";
  }
  layout.verity = plan;
}

std::string fat_volume_id(const std::string& uuid) {
  std::string digits;
  for (char c : uuid) {
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (digits.size() == 8) break;
  }
  base::check(digits.size() == 8, "not a UUID: '" + uuid + "'");
  return digits.substr(0, 4) + "-" + digits.substr(4);
}

DiskLayout plan_disk_layout(const config::Disk& disk, const UuidSource& uuids) {
  DiskLayout layout;
  const std::string table = disk.partition_table_type.value_or("gpt");
  base::require(table == "gpt" || table == "mbr", "disk.partitionTableType: unknown table type '" + table + "'");
  layout.gpt = table == "gpt";
  base::require(disk.size.has_value(), "disk.size is required for a disk image");
  {
    base::ErrorContext ctx{"reading", "disk.size"};
    layout.disk_size = config::parse_size(*disk.size);
  }
  base::require(!disk.partitions.empty(), "disk.partitions: a disk image needs at least one partition");
  for (std::size_t i = 0; i < disk.partitions.size(); ++i) {
    PlannedPartition p = plan_partition(disk.partitions[i], i, layout.gpt, uuids);
    const std::uint64_t last = p.end == 0 ? p.start + kPartitionAlignment : p.end;
    base::require(last <= layout.disk_size,
                 partition_path(i) + " ends past the end of the disk (" + *disk.size + ")");
    const config::Partition& source = disk.partitions[i];
    if (p.mount_point == "/") layout.root_fs_uuid = p.fs_uuid;
    if (p.mount_point == "/boot") layout.boot_fs_uuid = p.fs_uuid;
    const bool esp_type =
        config::effective_type_name(source.type.value_or(""), source.type_uuid.value_or("")) == "esp";
    if (esp_type || has_flag(source, "esp")) {
      layout.esp_mount_point = p.mount_point;
      layout.esp_fs_uuid = p.fs_uuid;
    }
    layout.partitions.push_back(std::move(p));
  }
  base::require(!layout.root_fs_uuid.empty(), "disk.partitions: no partition is mounted at /");
  // After every partition's UUIDs, so a partition's ids do not depend on these.
  for (PlannedPartition& p : layout.partitions) {
    if (p.fs_type.starts_with("ext")) p.ext_hash_seed = uuids("ext-hash-seed:" + p.id);
  }
  layout.disk_id = uuids("disk-id");
  layout.fstab = fstab_lines(layout.partitions);
  return layout;
}

}  // namespace supervisor
