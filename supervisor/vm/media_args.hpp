// The parts of the QEMU command line that say what the VM boots: the
// firmware (OVMF's two pflash drives, or nothing for SeaBIOS) and the media
// (a disk, an ISO as a CD-ROM with an optional disk, or a kernel and its
// initrd). qemu_argv (boot_vm.cpp) puts them between the machine and the
// console options.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "supervisor/vm/boot_vm.hpp"

namespace supervisor {

std::vector<std::string> firmware_args(const VmSpec& spec);
std::vector<std::string> media_args(const VmSpec& spec);

// A path as a QEMU option value: a literal comma is written twice.
std::string qemu_option_value(const std::filesystem::path& path);

}  // namespace supervisor
