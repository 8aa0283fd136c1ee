// An ISO 9660 medium (the isomaker's, or anyone's) read with libarchive from
// the image's fd, in the inspector's sandbox, writing nothing: the volume
// (label, size), its files, the GRUB configurations and EFI loaders on it,
// the kernels they boot and, when the medium is an installer made by this
// project, the packages of the lockfile its install/manifest.json names
// (config/<name>.lock.json on the isomaker's media).
// The medium is untrusted: texts read from it are capped, file names and
// counts go against the manifest budget, the manifest's lockfile path must
// be a plain path of the medium.
#pragma once

#include <string>

#include "stages/inspector/image_reader.hpp"
#include "stages/inspector/report.hpp"

namespace stage::inspector {

// The volume descriptor set of ISO 9660 starts at byte 32768 with type 1
// and "CD001"; a hybrid ISO (an MBR or GPT in front, for USB sticks) has
// it too and is read as a medium.
bool is_iso9660(int image_fd);

// The report of an ISO: table.label "iso9660", table.id the volume
// identifier, table.sector_size 2048, no partitions; files, boot files and
// configurations on "partition" 0.
Report read_iso(int image_fd, const std::string& name, const ReadProgress& progress, const ReadOptions& options);

// The packages of a lockfile's text (name, version, architecture); an
// error naming `where` when it is no lockfile.
std::vector<Package> lockfile_packages(const std::string& text, const std::string& where);

// The lockfile path an install/manifest.json names, relative to the
// medium's root; "" when it names none. An error when the path is not plain.
std::string manifest_lockfile_path(const std::string& text, const std::string& where);

}  // namespace stage::inspector
