// The build environment: a bootstrapped base tree kept by the supervisor so
// that a build with the same package set can skip the bootstrap. Copies run
// the host's own `cp -a --reflink=auto` (the stage sees the host /usr), which
// keeps owners, modes, setuid bits, xattrs, hardlinks and sparse files, and
// shares extents on file systems that can.
#pragma once

#include <filesystem>

namespace stage::installer {

// Copies everything in `from` into the existing directory `to`. Entries that
// are mount points on either side (the /proc and /dev the launcher mounts in
// the tree) are not copied; an empty directory stands in for them.
// Throws base::Error with cp's message when the copy fails.
void copy_tree(const std::filesystem::path& from, const std::filesystem::path& to);

// Copies the directory `from` itself, with its owner, mode and xattrs, into
// the existing directory `into` (as into/<name of from>), which must not
// hold that name yet. Same `cp -a` as copy_tree; throws base::Error with
// cp's message when the copy fails.
void copy_directory_into(const std::filesystem::path& from, const std::filesystem::path& into);

// True when `dir` holds nothing but the given mount-point directories.
bool is_empty_tree(const std::filesystem::path& dir);

}  // namespace stage::installer
