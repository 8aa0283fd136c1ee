// The partition table as an sfdisk script (fed on stdin to `sfdisk` run on
// the disk file), and how partition flags map onto it:
//
//   GPT  esp, boot   type = EFI System when the request gave no type
//        bios_grub   type = BIOS boot (21686148-6449-6E6F-744E-656564454649)
//        legacy_boot attrs LegacyBIOSBootable
//        required    attrs RequiredPartition
//        hidden      attrs GUID:62   read_only  attrs GUID:60
//        no_automount attrs GUID:63
//   MBR  boot        the bootable (active) mark
//        esp         type ef when the request gave no type
//
// Any other flag (grub, dmroot, ...) concerns other stages and is ignored here.
// Without a type, GPT uses Linux filesystem / Linux swap / Microsoft basic
// data (FAT), MBR uses 83 / 82 / 0c (FAT32) / 0e (FAT16).
#pragma once

#include <string>
#include <vector>

#include "stages/diskmaker/layout.hpp"

namespace stage::diskmaker {

inline constexpr const char* kGptEspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
inline constexpr const char* kGptBiosBootType = "21686148-6449-6E6F-744E-656564454649";

struct TableEntry {
  std::string type;               // GUID (upper case) or MBR hex byte without 0x
  std::vector<std::string> attrs; // GPT attribute names for sfdisk
  bool bootable = false;          // MBR active flag
};

// The type and attributes of `partition` after applying its flags.
// Throws base::Error(kInvalidInput) for a malformed type, naming the partition.
TableEntry table_entry(TableType table, const PartitionSpec& partition);

// The whole script: header (with the disk's label-id when `disk_id` is not
// empty: the GPT disk GUID, or for MBR 0x and the first 8 hex digits of the
// UUID), then one line per partition, named "pN" so that sfdisk gives it
// number N. Throws base::Error(kInvalidInput) for a `disk_id` that is no UUID.
std::string sfdisk_script(TableType table, const std::vector<PlacedPartition>& partitions,
                          const std::string& disk_id = "");

// True for 8-4-4-4-12 hex digits.
bool is_uuid(std::string_view text);

}  // namespace stage::diskmaker
