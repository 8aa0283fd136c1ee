#include "config/partition_types.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "config/rules.hpp"
#include "base/error.hpp"

namespace config {
namespace {

constexpr std::array<PartitionType, 19> kTypes{{
    {"linux", "0FC63DAF-8483-4772-8E79-3D69D8477DE4", 0x83},
    {"bios", "21686148-6449-6E6F-744E-656564454649", 0},  // BIOS boot: GPT only
    {"esp", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", 0xef},
    {"xbootldr", "BC13C2FF-59E6-4262-A352-B275FD6F7172", 0xea},
    {"linux-root-amd64", "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", 0x83},
    {"linux-root-arm64", "B921B045-1DF0-41C3-AF44-4C6F280D3FAE", 0x83},
    {"linux-swap", "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", 0x82},
    {"linux-home", "933AC7E1-2EB4-4F13-B844-0E14E2AEF915", 0x83},
    {"linux-srv", "3B8F8425-20E0-4F3B-907F-1A25A76F98E8", 0x83},
    {"linux-var", "4D21B016-B534-45C2-A9FB-5C16E091FD2D", 0x83},
    {"linux-tmp", "7EC6F557-3BC5-4ACA-B293-16EF5DF639D1", 0x83},
    {"linux-lvm", "E6D6D379-F507-44C2-A23C-238F2A3DF928", 0x8e},
    {"linux-raid", "A19D880F-05FC-4D3B-A006-743F0F84911E", 0xfd},
    {"linux-luks", "CA7D7CCB-63ED-4C53-861C-1742536059CC", 0xe8},
    {"linux-dm-crypt", "7FFEC5C9-2D00-49B7-8941-3EA10A5586B7", 0x83},
    {"linux-usr-amd64", "8484680C-9521-48C6-9C11-B0720656F69E", 0x83},
    {"linux-usr-arm64", "B0E01050-EE5F-4390-949A-9101B17104E9", 0x83},
    {"linux-root-x86", "44479540-F297-41B2-9AF7-D131D5F0458A", 0x83},
    {"linux-root-arm", "69DAD710-2CE4-4E3C-B16C-21A1D49ABED3", 0x83},
}};

// The hint names typeUUID: a template that sets it is never checked here.
PartitionType require_type(std::string_view name) {
  const std::optional<PartitionType> found = find_partition_type(name);
  if (!found) {
    std::string message = "unknown partition type '" + std::string(name) + "'";
    const std::string near = rules::nearest(name, rules::kPartitionTypes);
    if (!near.empty()) message += " (did you mean '" + near + "'?)";
    message += "; or set typeUUID, which takes precedence over type";
    throw base::Error(base::ErrorKind::kInvalidInput, message);
  }
  return *found;
}

std::string checked_upper_uuid(std::string_view type_uuid) {
  base::require(rules::is_uuid(type_uuid), "typeUUID '" + std::string(type_uuid) + "' is not a UUID");
  std::string upper(type_uuid);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper;
}

std::optional<PartitionType> find_by_guid(std::string_view upper_guid) {
  const auto it =
      std::find_if(kTypes.begin(), kTypes.end(), [&](const PartitionType& t) { return t.gpt_guid == upper_guid; });
  if (it == kTypes.end()) return std::nullopt;
  return *it;
}

}  // namespace

std::span<const PartitionType> partition_types() { return kTypes; }

std::optional<PartitionType> find_partition_type(std::string_view name) {
  const auto it = std::find_if(kTypes.begin(), kTypes.end(), [&](const PartitionType& t) { return t.name == name; });
  if (it == kTypes.end()) return std::nullopt;
  return *it;
}

std::optional<std::string_view> effective_type_name(std::string_view type, std::string_view type_uuid) {
  if (!type_uuid.empty()) {
    if (!rules::is_uuid(type_uuid)) return std::nullopt;
    const std::optional<PartitionType> found = find_by_guid(checked_upper_uuid(type_uuid));
    if (!found) return std::nullopt;
    return found->name;
  }
  const std::optional<PartitionType> found = find_partition_type(type.empty() ? "linux" : type);
  if (!found) return std::nullopt;
  return found->name;
}

std::string gpt_type_guid(std::string_view type, std::string_view type_uuid) {
  if (!type_uuid.empty()) return checked_upper_uuid(type_uuid);
  return std::string(require_type(type.empty() ? "linux" : type).gpt_guid);
}

std::string mbr_type_byte(std::string_view type, std::string_view type_uuid) {
  PartitionType t;
  if (!type_uuid.empty()) {
    const std::optional<PartitionType> found = find_by_guid(checked_upper_uuid(type_uuid));
    base::require(found.has_value(), "typeUUID '" + std::string(type_uuid) +
                                         "' is not a type an mbr partition table can hold; use a gpt table");
    t = *found;
  } else {
    t = require_type(type.empty() ? "linux" : type);
  }
  base::require(t.mbr_type != 0, "partition type '" + std::string(t.name) + "' exists only in GPT partition tables");
  char hex[3];
  std::snprintf(hex, sizeof hex, "%02x", t.mbr_type);
  return hex;
}

}  // namespace config
