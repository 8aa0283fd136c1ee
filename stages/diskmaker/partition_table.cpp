#include "stages/diskmaker/partition_table.hpp"

#include <algorithm>
#include <cctype>

#include "base/error.hpp"

namespace stage::diskmaker {
namespace {

bool has_flag(const PartitionSpec& p, std::string_view flag) {
  return std::find(p.flags.begin(), p.flags.end(), flag) != p.flags.end();
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
  return text;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string default_gpt_type(const PartitionSpec& p) {
  switch (fs_kind(p.fs_type, p.id)) {
    case FsKind::kSwap: return "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";
    case FsKind::kVfat: return "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
    default: return "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
  }
}

std::string default_mbr_type(const PartitionSpec& p) {
  switch (fs_kind(p.fs_type, p.id)) {
    case FsKind::kSwap: return "82";
    case FsKind::kVfat: return p.fs_type == "fat16" ? "e" : "c";
    default: return "83";
  }
}

TableEntry gpt_entry(const PartitionSpec& p) {
  TableEntry entry;
  entry.type = upper(p.type);
  if (entry.type.empty()) {
    if (has_flag(p, "bios_grub")) entry.type = kGptBiosBootType;
    else if (has_flag(p, "esp") || has_flag(p, "boot")) entry.type = kGptEspType;
    else entry.type = default_gpt_type(p);
  }
  base::require(is_uuid(entry.type), "Failed to accept partition '" + p.id + "': type '" + p.type +
                                        "' is not a GPT type GUID");
  if (has_flag(p, "required")) entry.attrs.push_back("RequiredPartition");
  if (has_flag(p, "legacy_boot")) entry.attrs.push_back("LegacyBIOSBootable");
  if (has_flag(p, "read_only")) entry.attrs.push_back("GUID:60");
  if (has_flag(p, "hidden")) entry.attrs.push_back("GUID:62");
  if (has_flag(p, "no_automount")) entry.attrs.push_back("GUID:63");
  return entry;
}

TableEntry mbr_entry(const PartitionSpec& p) {
  TableEntry entry;
  std::string type = lower(p.type);
  if (type.starts_with("0x")) type.erase(0, 2);
  if (type.empty()) type = has_flag(p, "esp") ? "ef" : default_mbr_type(p);
  const bool hex = type.size() <= 2 && std::all_of(type.begin(), type.end(), [](unsigned char c) {
                     return std::isxdigit(c);
                   });
  base::require(hex && type != "0" && type != "00",
               "Failed to accept partition '" + p.id + "': type '" + p.type + "' is not an MBR type byte in hex");
  entry.type = type;
  entry.bootable = has_flag(p, "boot");
  return entry;
}

void check_name(const PartitionSpec& p) {
  base::require(p.name.size() <= 36 * 3, "Failed to accept partition '" + p.id + "': name is too long");
  const bool printable = std::all_of(p.name.begin(), p.name.end(), [](unsigned char c) {
    return c >= 0x20 && c != 0x7f && c != '"' && c != '\\';
  });
  base::require(printable, "Failed to accept partition '" + p.id + "': name '" + p.name +
                              "' holds a quote, backslash or control character");
}

}  // namespace

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

TableEntry table_entry(TableType table, const PartitionSpec& partition) {
  return table == TableType::kGpt ? gpt_entry(partition) : mbr_entry(partition);
}

std::string sfdisk_script(TableType table, const std::vector<PlacedPartition>& partitions,
                          const std::string& disk_id) {
  const bool gpt = table == TableType::kGpt;
  std::string script = gpt ? "label: gpt\n" : "label: dos\n";
  if (!disk_id.empty()) {
    base::require(is_uuid(disk_id), "Failed to accept the disk id '" + disk_id + "': it is not a UUID");
    script += "label-id: " + (gpt ? upper(disk_id) : "0x" + disk_id.substr(0, 8)) + "\n";
  }
  script += "unit: sectors\nsector-size: 512\n";
  if (gpt) script += "first-lba: 2048\n";
  script += "\n";
  for (const auto& placed : partitions) {
    const PartitionSpec& p = *placed.spec;
    const TableEntry entry = table_entry(table, p);
    script += "p" + std::to_string(placed.number) + " : start=" + std::to_string(placed.start_sector) +
              ", size=" + std::to_string(placed.size_sectors) + ", type=" + entry.type;
    if (gpt) {
      if (!p.part_uuid.empty()) {
        base::require(is_uuid(p.part_uuid), "Failed to accept partition '" + p.id + "': partUuid '" +
                                               p.part_uuid + "' is not a UUID");
        script += ", uuid=" + upper(p.part_uuid);
      }
      check_name(p);
      if (!p.name.empty()) script += ", name=\"" + p.name + "\"";
      if (!entry.attrs.empty()) {
        std::string attrs;
        for (const auto& a : entry.attrs) attrs += (attrs.empty() ? "" : " ") + a;
        script += ", attrs=\"" + attrs + "\"";
      }
    } else if (entry.bootable) {
      script += ", bootable";
    }
    script += "\n";
  }
  return script;
}

}  // namespace stage::diskmaker
