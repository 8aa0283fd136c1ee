#include "config/unbuilt_keys.hpp"

#include "base/error.hpp"

namespace config {

namespace {

void disk_keys(const ImageTemplate& t, std::vector<std::string>& out) {
  if (!t.disk) return;
  for (std::size_t i = 0; i < t.disk->partitions.size(); ++i) {
    if (t.disk->partitions[i].fs_type.value_or("") != "xfs") continue;
    out.push_back("disk.partitions[" + std::to_string(i) + "].fsType: xfs is not made by this version (mkfs.xfs "
                  "cannot fill a file system from a directory with its owners); use ext4");
  }
}

void boot_keys(const ImageTemplate& t, std::vector<std::string>& out) {
  const bool raw = t.target && t.target->image_type.value_or("raw") == "raw";
  const auto& loader = t.system_config->bootloader;
  if (raw && loader && loader->boot_type.value_or("") == "legacy") {
    out.push_back("systemConfig.bootloader.bootType: legacy BIOS boot of a disk image is not built by this "
                  "version; use efi");
  }
}

}  // namespace

std::vector<std::string> unbuilt_keys(const ImageTemplate& t) {
  std::vector<std::string> out;
  disk_keys(t, out);
  if (!t.system_config) return out;
  boot_keys(t, out);
  if (!t.system_config->immutability) return out;
  const Immutability& im = *t.system_config->immutability;
  if (im.enabled) {
    out.push_back("systemConfig.immutability.enabled: true asks for a read-only dm-verity root, which this version "
                  "does not build; set it to false (the image is then mutable)");
  }
  if (im.secure_boot_db_key || im.secure_boot_db_crt || im.secure_boot_db_cer) {
    out.push_back("systemConfig.immutability.secureBootDBKey/secureBootDBCrt/secureBootDBCer ask for EFI binaries "
                  "signed for Secure Boot, which this version does not do; remove them (the image is then unsigned)");
  }
  return out;
}

void require_buildable(const ImageTemplate& t) {
  const std::vector<std::string> keys = unbuilt_keys(t);
  if (keys.empty()) return;
  std::string message = "Failed to build: the template asks for what this version cannot build:";
  for (const std::string& key : keys) message += "\n  " + key;
  throw base::Error(base::ErrorKind::kInvalidInput, message);
}

}  // namespace config
