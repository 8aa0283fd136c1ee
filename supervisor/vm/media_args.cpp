#include "supervisor/vm/media_args.hpp"

#include "base/error.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

// A -drive file: "name:rest" would be read as protocol "name"; a relative
// path is anchored with "./" so that it never is.
std::string drive_file(const fs::path& path) { return qemu_option_value(path.is_relative() ? "." / path : path); }

// `attach` says where the drive goes: "if=virtio", or "if=none,id=disk" for a -device.
std::string disk_drive(const VmSpec& spec, std::string_view attach) {
  std::string drive = "file=" + drive_file(spec.image) + ",format=" + std::string(qemu_format_name(spec.format)) +
                      "," + std::string(attach);
  if (spec.snapshot) drive += ",snapshot=on";
  return drive;
}

// With a CD-ROM both drives get a boot index, which OVMF and SeaBIOS both
// follow: the CD-ROM first, then the disk (a person can still pick "Boot
// from local disk" in the ISO's menu). The CD-ROM sits on the q35 AHCI
// controller, the disk on virtio-blk: /dev/sr0 and /dev/vda in the guest.
std::vector<std::string> cdrom_args(const VmSpec& spec) {
  std::vector<std::string> args = {
      "-drive", "if=none,id=cdrom,media=cdrom,readonly=on,format=raw,file=" + drive_file(spec.cdrom),
      "-device", "ide-cd,drive=cdrom,bootindex=0"};
  if (!spec.image.empty()) {
    // The installer writes a whole raw image, zeros included: zero writes
    // leave the qcow2 file unallocated there instead of growing it.
    args.insert(args.end(), {"-drive", disk_drive(spec, "if=none,id=disk,discard=unmap,detect-zeroes=unmap"),
                             "-device", "virtio-blk-pci,drive=disk,bootindex=1"});
  }
  return args;
}

std::vector<std::string> kernel_args(const VmSpec& spec) {
  base::check(spec.cdrom.empty() && spec.image.empty(), "a VM booted from a kernel has no other drive");
  std::vector<std::string> args = {"-kernel", spec.kernel.string()};
  if (!spec.initrd.empty()) args.insert(args.end(), {"-initrd", spec.initrd.string()});
  args.insert(args.end(), {"-append", spec.append});
  return args;
}

}  // namespace

std::string qemu_option_value(const fs::path& path) {
  std::string out;
  for (char c : path.string()) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::vector<std::string> firmware_args(const VmSpec& spec) {
  if (spec.bios) return {};
  return {"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + drive_file(spec.firmware_code),
          "-drive", "if=pflash,format=raw,unit=1,file=" + drive_file(spec.firmware_vars)};
}

std::vector<std::string> media_args(const VmSpec& spec) {
  if (!spec.kernel.empty()) return kernel_args(spec);
  if (!spec.cdrom.empty()) return cdrom_args(spec);
  base::check(!spec.image.empty(), "a VM needs a disk, a CD-ROM or a kernel to boot");
  return {"-drive", disk_drive(spec, "if=virtio")};
}

}  // namespace supervisor
