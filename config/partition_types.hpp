// Partition type names of the template format (`disk.partitions[].type`)
// as the identifiers a partition table stores: a GPT type GUID (the
// Discoverable Partitions Specification where one exists) and an MBR type
// byte. A partition's `typeUUID` overrides the name on GPT.
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

// The GPT type GUID of a template partition: `type_uuid` when set (checked
// and upper-cased), else the GUID of `type` ("linux" when unset). Throws
// base::Error(kInvalidInput) for an unknown name or a malformed UUID.
std::string gpt_type_guid(std::string_view type, std::string_view type_uuid);

// The MBR type byte as two lower-case hex digits ("83"), as sfdisk takes it.
// Throws base::Error(kInvalidInput) for a type that has none (bios, ...).
std::string mbr_type_byte(std::string_view type);

}  // namespace config
