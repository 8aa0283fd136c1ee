// Step 4 of the image build (docs/os-configuration.md): boot loader files
// made from the target's own packages, written into the tree (the ESP's
// files under its mount point). GRUB runs in the chroot; a UKI is put
// together by the host's objcopy from the target's EFI stub.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/stage.capnp.h"
#include "stages/installer/initramfs.hpp"
#include "stages/installer/os_config.hpp"

namespace stage::installer {

// Returns the files written, relative to the tree ("boot/efi/EFI/BOOT/BOOTX64.EFI").
std::vector<std::string> install_boot_loader(const std::filesystem::path& root,
                                             ipc::proto::InstallerRequest::Reader request,
                                             const std::optional<KernelInfo>& kernel);

// Runs a host program (argv[0] an absolute path) and returns its output;
// throws base::Error naming `what` when it fails.
using HostRunner = std::function<std::string(const std::vector<std::string>& argv, const std::string& what)>;
std::string run_host_program(const std::vector<std::string>& argv, const std::string& what);

// The distribution's GRUB names (provider config.yml `grub:`, the request's grub).
struct GrubNames {
  std::string mkstandalone;     // run in the chroot, from the image's /usr/bin: "grub2-mkstandalone"
  std::string modules_dir;      // the EFI platform's modules: "/usr/lib/grub/x86_64-efi"
  std::string config_dir;       // below /boot, holds the tree's grub.cfg: "/boot/grub2"
  std::string tools_package;    // ships mkstandalone: named when it is missing
  std::string modules_package;  // ships modules_dir: named when it is missing
  // Secure Boot (BootSettings::secure_boot): "" = not described for the distribution.
  std::string shim{};           // the unsigned shim in the image: "/usr/lib/shim/shimx64.efi"
  std::string shim_package{};   // ships shim: named when it is missing
  std::string sbat{};           // GRUB's SBAT CSV, for grub-mkstandalone --sbat
  bool operator==(const GrubNames&) const = default;
};

// The request's boot settings as plain values.
struct BootSettings {
  std::string type;        // "efi" | "legacy"
  std::string provider;    // "grub" | "grub2" | "systemd-boot" | "" (none, with a UKI)
  bool uki = false;
  std::string esp;         // ESP mount point inside the image, "/boot/efi"
  std::string root_uuid;   // file system UUID of "/"
  std::string boot_uuid;   // of the file system holding /boot; "" = the root's
  std::string cmdline;     // extra kernel arguments
  GrubNames grub;
  // A dm-verity root (request.verity): GPT partition UUIDs; "" = none.
  std::string verity_data_uuid;
  std::string verity_hash_uuid;
  // Secure Boot keys given: the supervisor signs every EFI binary of the ESP
  // after this stage. GRUB then boots through shim, its whole menu inside
  // the signed binary, the kernel on the ESP (signed too).
  bool secure_boot = false;
  std::string esp_uuid;  // the ESP's FAT volume id, where that GRUB finds the kernel
};
BootSettings decode_boot_settings(ipc::proto::InstallerRequest::Reader request);

std::vector<std::string> install_boot_loader(const std::filesystem::path& root, const BootSettings& settings,
                                             const std::optional<KernelInfo>& kernel, const CommandRunner& run,
                                             const HostRunner& host);

// ---- pure pieces (tested on their own) ----

// "root=UUID=<root> ro <cmdline>"; with a dm-verity root
// "root=/dev/mapper/root ro roothash=<ipc ROOT_HASH_PLACEHOLDER>
// systemd.verity_root_data=PARTUUID=<data> systemd.verity_root_hash=PARTUUID=<hash> <cmdline>",
// what systemd-veritysetup-generator reads in the initramfs.
std::string kernel_arguments(const BootSettings& settings);
// The checks a dm-verity root's boot settings must pass (kInvalidInput):
// both partition UUIDs, a UKI (the one EFI binary that carries the command
// line, patched by the disk maker and signed), no GRUB, and no root= or
// verity argument of the template's own. Nothing happens without verity.
void check_verity_boot(const BootSettings& settings);
// Where /boot's files are seen from the file system holding them: "/boot",
// or "" when /boot is a file system of its own.
std::string boot_prefix(const BootSettings& settings);
// The configuration built into the GRUB EFI binary: find /boot's file system
// by UUID and load its grub.cfg.
std::string grub_embedded_config(const BootSettings& settings);
// <grub.config_dir>/grub.cfg: serial and screen console, one entry.
std::string grub_config(const BootSettings& settings, const KernelInfo& kernel, std::string_view title);

// Secure Boot with GRUB: the menu built into the signed GRUB's memdisk
// (nothing read from a disk but the kernel and initrd): serial and screen
// console, one entry loading `kernel` (and `initrd`, "" = none), paths on
// the ESP, found by its volume id.
std::string grub_secure_boot_config(const BootSettings& settings, std::string_view kernel, std::string_view initrd,
                                    std::string_view title);
// The grub-mkstandalone argv making that GRUB: every module it needs built
// in (--modules = --install-modules, nothing loaded from a disk), `sbat` as
// its .sbat section, `menu` (a path in the chroot) as its memdisk's
// boot/grub/grub.cfg.
std::vector<std::string> grub_secure_boot_argv(const GrubNames& grub, const std::string& sbat,
                                               const std::string& menu, const std::string& output);
// The layout facts of a PE32+ image that placing new sections needs.
struct PeLayout {
  std::uint64_t image_base = 0;
  std::uint64_t end_rva = 0;  // end of the last section in memory
};
PeLayout read_pe_layout(std::string_view image);

struct UkiSection {
  std::string name;  // ".osrel"
  std::string file;  // host path of its contents
  std::uint64_t size = 0;
};
// objcopy arguments adding `sections` after the stub's own, each at a
// 4 KiB-aligned address (as systemd's ukify does).
std::vector<std::string> uki_objcopy_argv(const PeLayout& stub, const std::vector<UkiSection>& sections,
                                          const std::string& stub_path, const std::string& output_path);

}  // namespace stage::installer
