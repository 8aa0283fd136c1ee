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
};

}  // namespace stage::isomaker
