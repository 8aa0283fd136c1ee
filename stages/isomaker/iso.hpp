// Making the hybrid ISO: the GRUB images (the live tree's own grub-mkimage),
// the EFI FAT image (mtools), the package repository's metadata
// (apt-ftparchive or createrepo_c) and the medium itself (xorriso), in a
// scratch directory beside the output.
#pragma once

#include "stages/isomaker/initrd.hpp"
#include "stages/isomaker/iso_layout.hpp"
#include "stages/isomaker/output_files.hpp"

namespace stage::isomaker {

// Throws kFailed naming the program and its Debian package when one the ISO
// needs is not on the host.
void check_iso_programs(PackageFamily family);

// `tree_fd`: the live tree; `out_fd`/`out_path`: the output directory as an
// fd and as the tools see it. The ISO is a pending output of `outputs`.
WrittenFile make_iso(const IsoSpec& spec, int tree_fd, int out_fd, const std::string& out_path,
                     PendingOutputs& outputs);

// The GRUB for Secure Boot (LoaderSpec), a pending output of `outputs`.
WrittenFile make_iso_loader(const LoaderSpec& spec, int tree_fd, int out_fd, const std::string& out_path,
                            PendingOutputs& outputs);

}  // namespace stage::isomaker
