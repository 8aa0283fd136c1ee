// Partition type names of the template format (`disk.partitions[].type`)
// as the identifiers a partition table stores: a GPT type GUID (the
// Discoverable Partitions Specification where one exists) and an MBR type
// byte. A partition's `typeUUID`, when set, takes precedence: `type` is then
// not read at all (the reference's Ubuntu cloud templates pair a typeUUID
// with names it does not know, such as `bios-boot`).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace config {

struct PartitionType {
  std::string_view name;
  std::string_view gpt_guid;  // upper-case, 8-4-4-4-12
  std::uint8_t mbr_type = 0;  // 0: the type has no MBR equivalent
};

// Every name the validator accepts (config/rules.cpp) plus the /usr types.
std::span<const PartitionType> partition_types();

std::optional<PartitionType> find_partition_type(std::string_view name);

// The name of the table entry a partition is: the entry whose GUID is
// `type_uuid` when that is set (nullopt for a GUID the table does not hold),
// else `type` ("linux" when empty; nullopt when unknown).
std::optional<std::string_view> effective_type_name(std::string_view type, std::string_view type_uuid);

// The GPT type GUID of a template partition: `type_uuid` when set (checked
// and upper-cased; `type` is then ignored), else the GUID of `type` ("linux"
// when unset). Throws base::Error(kInvalidInput) for an unknown name or a
// malformed UUID.
std::string gpt_type_guid(std::string_view type, std::string_view type_uuid);

// The MBR type byte as two lower-case hex digits ("83"), as sfdisk takes it:
// of the table entry with GUID `type_uuid` when that is set, else of `type`.
// Throws base::Error(kInvalidInput) for a type that has none (bios, ...) and
// for a typeUUID the table does not hold.
std::string mbr_type_byte(std::string_view type, std::string_view type_uuid = {});

}  // namespace config
