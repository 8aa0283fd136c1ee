// What an ISO is made of and how it is put together: the request as plain
// structs, the GRUB configuration, the grub-mkimage and xorriso command
// lines and the medium's tree. Pure functions, so they are tested without
// GRUB or xorriso.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stage::isomaker {

enum class PackageFamily { kNone, kDeb, kRpm };

struct ExtraFileSpec {
  std::string source;    // a path inside the stage
  std::string iso_path;  // absolute path on the medium
};

struct MenuSpec {
  std::string title;
  std::string cmdline;
  std::uint32_t timeout_seconds = 5;
};

struct GrubSpec {
  std::string mkimage;           // in the tree
  std::string efi_modules_dir;   // in the tree
  std::string bios_modules_dir;  // in the tree
};

// Secure Boot: shim from the tree as the EFI boot file, the signed GRUB
// (a LoaderSpec's, signed by the supervisor) beside it as grubx64.efi.
struct SecureBootSpec {
  std::string shim;    // paths inside the stage; "" = no Secure Boot
  std::string loader;
};

struct IsoSpec {
  std::string kernel;  // paths inside the stage
  std::string initrd;
  std::vector<ExtraFileSpec> extra_files;
  PackageFamily package_family = PackageFamily::kNone;
  std::vector<std::string> packages;  // paths inside the stage
  MenuSpec menu;
  std::string volume_id = "ICT_CDROM";
  std::int64_t clamp_time = -1;  // epoch seconds; -1 = now
  bool bios_boot = false;
  GrubSpec grub;
  std::string output_name;  // no '/'
  // Inputs given as fds are named /proc/self/fd/N; the tools that read
  // inputs (xorriso, the indexers) inherit these fds.
  std::vector<int> input_fds;
  SecureBootSpec secure_boot;
};

// The GRUB for Secure Boot (MakeIsoLoaderRequest).
struct LoaderSpec {
  GrubSpec grub;
  MenuSpec menu;
  std::string sbat;
  std::string output_name;  // no '/'
};

// Throws kInvalidInput naming the field: output name, volume id (1 to 32 of
// A-Z 0-9 _), ISO paths (absolute, no '.' or '..', not a path the stage
// writes itself, unique), menu texts (one line each).
void check_iso_spec(const IsoSpec& spec);
// The loader's name, menu texts and SBAT (not empty, a CSV starting "sbat,").
void check_loader_spec(const LoaderSpec& spec);

// The EFI platform of a GRUB modules directory ("x86_64-efi" of
// /usr/lib/grub/x86_64-efi) and the removable-media boot file it boots as.
struct EfiPlatform {
  std::string format;     // grub-mkimage -O
  std::string boot_file;  // BOOTX64.EFI
};
EfiPlatform efi_platform(const std::string& modules_dir);

// The ISO's /boot/grub/grub.cfg: the live entry, its debug shell
// (rdinit=/bin/sh) and "Boot from local disk" (exit on EFI, the first
// disk's boot sector on BIOS); console and serial.
std::string grub_cfg(const MenuSpec& menu);

// Embedded in both GRUB images: finds the medium by /images/vmlinuz and
// reads /boot/grub/grub.cfg from it.
std::string early_grub_cfg();
// The Secure Boot GRUB's grub.cfg, in its memdisk: finds the medium by
// /images/vmlinuz and is the whole menu itself (no configuration read from
// the medium).
std::string secure_boot_grub_cfg(const MenuSpec& menu);

// The modules embedded in an image: `wanted` that are in `present`; throws
// kInvalidInput naming the first of `required` that is not.
std::vector<std::string> embedded_modules(const std::vector<std::string>& wanted,
                                          const std::vector<std::string>& required,
                                          const std::vector<std::string>& present, const std::string& modules_dir);
std::vector<std::string> efi_modules_wanted();
std::vector<std::string> efi_modules_required();
std::vector<std::string> bios_modules_wanted();
std::vector<std::string> bios_modules_required();
// Under Secure Boot GRUB loads no module from the medium: everything it runs is built in.
std::vector<std::string> secure_boot_modules_wanted();
std::vector<std::string> secure_boot_modules_required();

// The tree's grub-mkimage, run through the tree's dynamic loader with the
// tree's libraries (real paths inside the stage).
struct MkimageCall {
  std::string loader;
  std::string library_path;  // ':'-separated
  std::string mkimage;
  std::string modules_dir;
  std::string format;        // x86_64-efi, i386-pc-eltorito
  std::string config;        // the early config file; "" = none
  std::string output;
  std::vector<std::string> modules;
  std::string sbat;          // the SBAT CSV file; "" = none
  // A tar holding boot/grub/grub.cfg, the prefix then: normal mode reads that
  // menu with the whole script parser (the early config gets only the rescue
  // parser, which knows no menuentry block). "" = prefix /boot/grub.
  std::string memdisk;
};
std::vector<std::string> mkimage_argv(const MkimageCall& call);

// mformat, mmd and mcopy of the FAT image holding the EFI boot files: its
// size in bytes (the files with room to spare, whole MiB) and the commands.
struct EfiFile {
  std::string source;
  std::string name;  // in EFI/BOOT: BOOTX64.EFI, grubx64.efi
};
std::uint64_t efi_image_size(std::uint64_t boot_files_size);
std::vector<std::vector<std::string>> efi_image_commands(const std::string& image, std::uint64_t image_size,
                                                         const std::vector<EfiFile>& files);

// One file or directory on the medium and where it comes from.
struct Graft {
  std::string iso_path;  // absolute
  std::string source;
};
// xorriso's pathspec: '=' and '\' escaped with '\'.
std::string graft_pathspec(const Graft& graft);

// "YYYYMMDDhhmmss00" (xorriso's --modification-date) of epoch seconds, UTC.
std::string iso_timestamp(std::int64_t epoch);
// RFC 1123 ("Tue, 14 Nov 2023 22:13:20 +0000") of epoch seconds, UTC.
std::string rfc1123_date(std::int64_t epoch);

// Pathspecs are followed ("-follow param"): an input given as an fd is the
// /proc/self/fd/N link to it.
struct XorrisoCall {
  std::string output;
  std::string volume_id;
  std::int64_t time = 0;     // epoch seconds
  std::string efi_image;     // on the medium (also appended as partition 2)
  std::string efi_image_source;
  std::string bios_image;    // on the medium; "" = UEFI only
  std::string bios_mbr;      // boot_hybrid.img (a real path)
  std::vector<Graft> grafts;
};
std::vector<std::string> xorriso_argv(const XorrisoCall& call);

}  // namespace stage::isomaker
