// The ISO's /cache-repo: the package files, flat, and the metadata a package
// manager reads from the medium. deb: Packages and Release from
// apt-ftparchive (`deb [trusted=yes] file:/cdrom/cache-repo ./`); rpm:
// repodata/ from createrepo_c. Indexed through symlinks in a scratch
// directory; the medium gets the package files themselves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stages/isomaker/iso_layout.hpp"

namespace stage::isomaker {

// The grafts of /cache-repo: one per package file and the metadata written
// into `scratch_dir` (an empty directory; files named `scratch_dir`.* beside
// it are scratch too). Throws kInvalidInput on two
// packages with one file name or a file that is not a package of the family.
// `input_fds`: the fds of packages named /proc/self/fd/N, which the indexer
// inherits.
std::vector<Graft> make_repository(PackageFamily family, const std::vector<std::string>& packages,
                                   const std::string& scratch_dir, std::int64_t time,
                                   const std::vector<int>& input_fds = {});

// apt-ftparchive names each package by the path it scanned, or by where a
// link there leads when that is another link (the build's package links
// are); the medium's repository is flat, so Packages names each file by its
// name in it ("./x.deb").
std::string relative_packages_index(const std::string& index);

}  // namespace stage::isomaker
