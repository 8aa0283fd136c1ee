#include "config/unbuilt_keys.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "base/error.hpp"

namespace config {

namespace {

// The partition flags the disk maker turns into a table entry's type or
// attributes (docs/templates.md); the reference's others (grub, dmroot) have
// no meaning of their own here.
constexpr std::array<std::string_view, 8> kPartitionFlags = {
    "esp", "boot", "bios_grub", "legacy_boot", "required", "read_only", "hidden", "no_automount"};

void partition_keys(const Partition& p, const std::string& where, std::vector<std::string>& out) {
  if (p.fs_type.value_or("") == "xfs") {
    out.push_back(where + ".fsType: xfs is not made by this version (mkfs.xfs cannot fill a file system from a "
                  "directory with its owners); use ext4");
  }
  for (const std::string& flag : p.flags) {
    if (std::find(kPartitionFlags.begin(), kPartitionFlags.end(), flag) != kPartitionFlags.end()) continue;
    out.push_back(where + ".flags: '" + flag + "' has no effect in this version (the flags it builds: esp, boot, "
                  "bios_grub, legacy_boot, required, read_only, hidden, no_automount); remove it");
  }
}

void disk_keys(const ImageTemplate& t, std::vector<std::string>& out) {
  if (!t.disk) return;
  for (std::size_t i = 0; i < t.disk->partitions.size(); ++i) {
    partition_keys(t.disk->partitions[i], "disk.partitions[" + std::to_string(i) + "]", out);
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

// A dm-verity root is built into a raw disk whose kernel command line sits
// in an EFI binary on the ESP, where the disk maker puts the root hash
// (Secure Boot signs it after): a UKI, or GRUB's menu inside its memdisk.
void verity_keys(const ImageTemplate& t, std::vector<std::string>& out) {
  const std::string type = t.target ? t.target->image_type.value_or("raw") : "raw";
  if (type != "raw") {
    out.push_back("systemConfig.immutability.enabled: a dm-verity root is built for raw disk images, not for "
                  "imageType " + type + "; set it to false");
    return;
  }
  const auto& loader = t.system_config->bootloader;
  const std::string provider = loader ? loader->provider.value_or("grub") : "grub";
  const auto& kernel = t.system_config->kernel;
  const bool uki = kernel && kernel->uki.value_or(false);
  if (provider == "grub" || provider == "grub2") return;
  if ((provider != "systemd-boot" && provider != "none") || !uki) {
    out.push_back("systemConfig.immutability.enabled: a dm-verity root needs its root hash in a UKI or in GRUB's "
                  "menu: set systemConfig.bootloader.provider to grub, or to systemd-boot with "
                  "systemConfig.kernel.uki true (it is " +
                  provider + (uki ? " with a UKI)" : " without a UKI)"));
  }
}

// Secure Boot signs the ESP of a raw disk booted by systemd-boot with a UKI,
// or by GRUB through shim (its menu inside the signed binary); either may
// hold a dm-verity root hash. An ISO's boot chain (shim, a signed GRUB with
// the menu inside, the signed live kernel) is signed too, and the disk its
// installer writes is that raw disk. An initrd has no boot chain to sign.
void secure_boot_keys(const ImageTemplate& t, std::vector<std::string>& out) {
  const std::string type = t.target ? t.target->image_type.value_or("raw") : "raw";
  const auto& loader = t.system_config->bootloader;
  const std::string provider = loader ? loader->provider.value_or("grub") : "grub";
  const auto& kernel = t.system_config->kernel;
  const bool uki = kernel && kernel->uki.value_or(false);
  const bool grub = provider == "grub" || provider == "grub2";
  if ((type == "raw" || type == "iso") && ((provider == "systemd-boot" && uki) || grub)) return;
  out.push_back("systemConfig.immutability.secureBootDBKey/secureBootDBCrt/secureBootDBCer: Secure Boot signing "
                "is built for raw disk images and ISOs (their disk) booted by GRUB, or by systemd-boot with a UKI, "
                "not for imageType " +
                type + " with " + provider + (uki ? " and a UKI" : " without a UKI") +
                "; remove the keys, or build a raw image with GRUB or with systemd-boot and "
                "systemConfig.kernel.uki: true");
}

}  // namespace

std::vector<std::string> unbuilt_keys(const ImageTemplate& t) {
  std::vector<std::string> out;
  disk_keys(t, out);
  if (!t.system_config) return out;
  boot_keys(t, out);
  if (!t.system_config->immutability) return out;
  const Immutability& im = *t.system_config->immutability;
  if (im.enabled) verity_keys(t, out);
  if (im.secure_boot_db_key || im.secure_boot_db_crt || im.secure_boot_db_cer) secure_boot_keys(t, out);
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
