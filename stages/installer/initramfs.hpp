// The kernel of the tree and its initramfs (docs/os-configuration.md). The
// initramfs is made again after the OS configuration, since /etc/fstab and
// /etc/kernel/cmdline changed after the kernel package made its own.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stages/installer/os_config.hpp"

namespace stage::installer {

struct KernelInfo {
  std::string version;      // "6.1.0-28-amd64"
  std::string kernel_path;  // relative to the tree: "boot/vmlinuz-6.1.0-28-amd64"
  std::string initrd_path;  // "boot/initrd.img-6.1.0-28-amd64" (may not exist yet)
};

// The newest /boot/vmlinuz-<version> of the tree, or nullopt when it has none.
// `initrd_file_name` is the distribution's name of its initramfs in /boot,
// "{kver}" standing for the version: "initrd.img-{kver}", "initramfs-{kver}.img".
std::optional<KernelInfo> find_kernel(const std::filesystem::path& root, std::string_view initrd_file_name);

// "boot/" + `initrd_file_name` with the version put in; throws for a pattern
// that is not one file name holding "{kver}" once.
std::string initrd_path(std::string_view initrd_file_name, std::string_view version);

// Orders kernel versions as dpkg would for the usual "6.1.0-28-amd64" shape:
// runs of digits compare as numbers, everything else byte by byte.
bool kernel_version_less(std::string_view a, std::string_view b);

// What goes into the initramfs besides the tool's own choice.
struct InitramfsContents {
  // kernel.enableExtraModules: listed in /etc/initramfs-tools/modules, or
  // passed to dracut --add-drivers; each must be a module of the kernel (a
  // file under its modules directory or built in), else the build fails naming it.
  std::vector<std::string> extra_modules;
  // A dm-verity root (request.verity): dracut adds its systemd-veritysetup
  // module, which opens /dev/mapper/root from the kernel command line.
  // initramfs-tools has no systemd in its initramfs and is refused.
  bool verity_root = false;
};

// `tool`: "initramfs-tools", "dracut", or "none" / "" (nothing to do).
void make_initramfs(const std::filesystem::path& root, const KernelInfo& kernel, std::string_view tool,
                    const InitramfsContents& contents);
void make_initramfs(const std::filesystem::path& root, const KernelInfo& kernel, std::string_view tool,
                    const InitramfsContents& contents, const CommandRunner& run);

}  // namespace stage::installer
