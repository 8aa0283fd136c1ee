#include "stages/isomaker/iso.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "stages/diskmaker/tools.hpp"
#include "stages/isomaker/grub_memdisk.hpp"
#include "stages/isomaker/host_programs.hpp"
#include "stages/isomaker/iso_repo.hpp"
#include "stages/isomaker/tree_paths.hpp"

namespace stage::isomaker {
namespace {

namespace fs = std::filesystem;

// The tree's dynamic loader and library directories, by architecture.
constexpr std::array kLoaders = {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"};
constexpr std::array kLibraryDirs = {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64",
                                     "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib", "/lib"};

// grub-mkimage as the tree runs it: every path resolved inside the tree.
struct TreeGrub {
  std::string loader;
  std::string library_path;
  std::string mkimage;
};

TreeGrub tree_grub(int tree_fd, const GrubSpec& grub) {
  TreeGrub out;
  for (const char* loader : kLoaders) {
    if (exists_in_tree(tree_fd, loader)) {
      out.loader = resolve_in_tree(tree_fd, loader, "the dynamic loader");
      break;
    }
  }
  base::require(!out.loader.empty(), "the live tree has no dynamic loader (/lib64/ld-linux-x86-64.so.2 or "
                                     "/lib/ld-linux-aarch64.so.1) to run its grub-mkimage with");
  std::vector<std::string> dirs;
  for (const char* dir : kLibraryDirs) {
    if (!exists_in_tree(tree_fd, dir)) continue;
    const std::string real = resolve_in_tree(tree_fd, dir, "a library directory");
    if (std::find(dirs.begin(), dirs.end(), real) == dirs.end()) dirs.push_back(real);
  }
  for (const auto& dir : dirs) out.library_path += (out.library_path.empty() ? "" : ":") + dir;
  out.mkimage = resolve_in_tree(tree_fd, grub.mkimage, "grub-mkimage (grub.mkimage)");
  return out;
}

std::vector<std::string> modules_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".mod")) names.push_back(name.substr(0, name.size() - 4));
  }
  return names;
}

std::string modules_dir(int tree_fd, const std::string& path, const std::string& what) {
  base::require(exists_in_tree(tree_fd, path), "the live tree has no " + what + " at " + path);
  return resolve_in_tree(tree_fd, path, what);
}

void require_input(const std::string& path, const std::string& what) {
  base::require(fs::is_regular_file(path), what + " '" + path + "' does not exist or is not a file");
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  base::check(out.good(), "cannot write " + path);
}

void run_mkimage(const TreeGrub& grub, const std::string& dir, const std::string& format, const std::string& output,
                 const std::string& config, const std::vector<std::string>& modules, const std::string& sbat = "") {
  const MkimageCall call{grub.loader, grub.library_path, grub.mkimage, dir, format, config, output, modules, sbat};
  diskmaker::run_tool_checked({.argv = mkimage_argv(call)}, "make the " + format + " GRUB image (grub-mkimage)");
}

// The EFI boot files in a FAT image; returns the image's path.
std::string make_efi_image(const std::vector<EfiFile>& files, const std::string& work, std::int64_t time) {
  std::uint64_t total = 0;
  for (const EfiFile& file : files) total += fs::file_size(file.source);
  const std::string image = work + "/efi.img";
  const std::uint64_t size = efi_image_size(total);
  write_file(image, "");
  fs::resize_file(image, size);
  for (const auto& argv : efi_image_commands(image, size, files)) {
    diskmaker::run_tool_checked({.argv = argv, .env = {"SOURCE_DATE_EPOCH=" + std::to_string(time)}},
                                "make the EFI boot image (" + argv[0] + ")");
  }
  return image;
}

// The files of the EFI image: the tree's GRUB alone, or under Secure Boot
// the signed shim with the signed GRUB beside it, where shim looks for it.
std::vector<EfiFile> efi_boot_files(const IsoSpec& spec, const TreeGrub& grub, const std::string& efi_dir,
                                    const std::string& work) {
  const EfiPlatform platform = efi_platform(efi_dir);
  if (spec.secure_boot.shim.empty()) {
    const std::string boot_file = work + "/" + platform.boot_file;
    run_mkimage(grub, efi_dir, platform.format, boot_file, work + "/early.cfg",
                embedded_modules(efi_modules_wanted(), efi_modules_required(), modules_in(efi_dir), efi_dir));
    return {{boot_file, platform.boot_file}};
  }
  base::require(platform.format == "x86_64-efi", "Secure Boot of an ISO is built for x86_64 EFI, not for " +
                                                     platform.format);
  require_input(spec.secure_boot.shim, "the signed shim");
  require_input(spec.secure_boot.loader, "the signed GRUB");
  return {{spec.secure_boot.shim, platform.boot_file}, {spec.secure_boot.loader, "grubx64.efi"}};
}

// The i386-pc El Torito image; returns its path.
std::string make_bios_image(const TreeGrub& grub, const std::string& bios_dir, const std::string& work,
                            const std::string& early_cfg) {
  const std::string image = work + "/bios.img";
  run_mkimage(grub, bios_dir, "i386-pc-eltorito", image, early_cfg,
              embedded_modules(bios_modules_wanted(), bios_modules_required(), modules_in(bios_dir), bios_dir));
  return image;
}

std::int64_t iso_time(std::int64_t clamp) { return clamp >= 0 ? clamp : static_cast<std::int64_t>(::time(nullptr)); }

struct RemoveTree {
  std::string path;
  ~RemoveTree() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

}  // namespace

void check_iso_programs(PackageFamily family) {
  const std::string name = family == PackageFamily::kDeb ? "deb" : family == PackageFamily::kRpm ? "rpm" : "";
  for (const auto& program : iso_programs(name)) {
    if (diskmaker::locate_tool(program.program)) continue;
    throw base::Error(base::ErrorKind::kFailed,
                      "the host program '" + program.program + "' the ISO needs is not in /usr/bin or /usr/sbin")
        .with_hint("install " + program.program + " (Debian package " + program.package + ")");
  }
}

WrittenFile make_iso(const IsoSpec& spec, int tree_fd, int out_fd, const std::string& out_path,
                     PendingOutputs& outputs) {
  require_input(spec.kernel, "the kernel");
  require_input(spec.initrd, "the initrd");
  for (const auto& extra : spec.extra_files) require_input(extra.source, "the extra file for " + extra.iso_path);
  const std::string efi_dir = modules_dir(tree_fd, spec.grub.efi_modules_dir, "GRUB EFI modules directory");
  const std::string bios_dir =
      spec.bios_boot ? modules_dir(tree_fd, spec.grub.bios_modules_dir, "GRUB BIOS (i386-pc) modules directory") : "";
  const TreeGrub grub = tree_grub(tree_fd, spec.grub);
  const std::string bios_mbr = spec.bios_boot ? bios_dir + "/boot_hybrid.img" : "";
  if (spec.bios_boot) require_input(bios_mbr, "GRUB's hybrid MBR");

  const std::string work_name = "." + spec.output_name + ".work";
  const std::string work = out_path + "/" + work_name;
  fs::remove_all(work);
  RemoveTree remove_work{work};
  base::check_syscall(::mkdirat(out_fd, work_name.c_str(), 0700), "make the work directory", work_name);
  write_file(work + "/early.cfg", early_grub_cfg());
  write_file(work + "/grub.cfg", grub_cfg(spec.menu));
  const std::int64_t time = iso_time(spec.clamp_time);

  XorrisoCall call{.output = {}, .volume_id = spec.volume_id, .time = time, .efi_image = "/boot/grub/efi.img",
                   .efi_image_source = make_efi_image(efi_boot_files(spec, grub, efi_dir, work), work, time),
                   .bios_image = spec.bios_boot ? "/boot/grub/bios.img" : "", .bios_mbr = bios_mbr, .grafts = {}};
  call.grafts = {{"/images/vmlinuz", spec.kernel},
                 {"/images/initrd.img", spec.initrd},
                 {"/boot/grub/grub.cfg", work + "/grub.cfg"},
                 {"/boot/grub/efi.img", call.efi_image_source},
                 {"/boot/grub/" + efi_platform(efi_dir).format, efi_dir}};
  if (spec.bios_boot) {
    call.grafts.push_back({"/boot/grub/bios.img", make_bios_image(grub, bios_dir, work, work + "/early.cfg")});
    call.grafts.push_back({"/boot/grub/i386-pc", bios_dir});
  }
  for (const auto& extra : spec.extra_files) call.grafts.push_back({extra.iso_path, extra.source});
  base::check_syscall(::mkdirat(out_fd, (work_name + "/cache-repo").c_str(), 0755), "make", "cache-repo");
  for (auto& graft : make_repository(spec.package_family, spec.packages, work + "/cache-repo", time, spec.input_fds)) {
    call.grafts.push_back(std::move(graft));
  }
  (void)outputs.create(spec.output_name);
  call.output = out_path + "/" + partial_name(spec.output_name);
  diskmaker::run_tool_checked({.argv = xorriso_argv(call), .inherit_fds = spec.input_fds,
                               .env = {"SOURCE_DATE_EPOCH=" + std::to_string(time)}},
                              "write the ISO (xorriso)");
  return outputs.finish(spec.output_name);
}

WrittenFile make_iso_loader(const LoaderSpec& spec, int tree_fd, int out_fd, const std::string& out_path,
                            PendingOutputs& outputs) {
  const std::string efi_dir = modules_dir(tree_fd, spec.grub.efi_modules_dir, "GRUB EFI modules directory");
  const EfiPlatform platform = efi_platform(efi_dir);
  base::require(platform.format == "x86_64-efi", "Secure Boot of an ISO is built for x86_64 EFI, not for " +
                                                     platform.format);
  const TreeGrub grub = tree_grub(tree_fd, spec.grub);
  const std::string work_name = "." + spec.output_name + ".work";
  const std::string work = out_path + "/" + work_name;
  fs::remove_all(work);
  RemoveTree remove_work{work};
  base::check_syscall(::mkdirat(out_fd, work_name.c_str(), 0700), "make the work directory", work_name);
  write_menu_memdisk(work + "/memdisk.tar", secure_boot_grub_cfg(spec.menu));
  write_file(work + "/sbat.csv", spec.sbat);
  (void)outputs.create(spec.output_name);
  const MkimageCall call{
      .loader = grub.loader,
      .library_path = grub.library_path,
      .mkimage = grub.mkimage,
      .modules_dir = efi_dir,
      .format = platform.format,
      .config = "",
      .output = out_path + "/" + partial_name(spec.output_name),
      .modules = embedded_modules(secure_boot_modules_wanted(), secure_boot_modules_required(), modules_in(efi_dir),
                                  efi_dir),
      .sbat = work + "/sbat.csv",
      .memdisk = work + "/memdisk.tar"};
  diskmaker::run_tool_checked({.argv = mkimage_argv(call)}, "make the Secure Boot GRUB image (grub-mkimage)");
  return outputs.finish(spec.output_name);
}

}  // namespace stage::isomaker
