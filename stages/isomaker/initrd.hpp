// The initrd: a newc cpio of a root tree, written with libarchive so that the
// same tree gives the same bytes: entries sorted by path, mtimes clamped,
// inode numbers counted from 1 in that order, owners and modes as stat(2)
// sees them in the stage's user namespace, hard links kept, and a /init
// symlink to sbin/init added when the tree has no /init.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stage::isomaker {

enum class Compression { kGzip, kZstd, kXz, kNone };

struct InitrdSpec {
  std::vector<std::string> excluded_paths;  // absolute, in the tree
  Compression compression = Compression::kGzip;
  std::int64_t clamp_time = -1;             // epoch seconds; -1 = as they are
  std::string kernel_path;                  // absolute, in the tree
  std::string output_name;                  // no '/'
};

// A file written into the output directory.
struct WrittenFile {
  std::string name;
  std::string sha256;
  std::uint64_t size = 0;
};

// Throws kInvalidInput on a bad spec (names, paths), before anything is written.
void check_initrd_spec(const InitrdSpec& spec);

class PendingOutputs;

// Writes the cpio of the tree at `tree_fd` as spec.output_name (a pending
// output until the caller commits it). kInvalidInput when the tree has
// neither /init nor /sbin/init.
WrittenFile write_initrd(int tree_fd, const InitrdSpec& spec, PendingOutputs& outputs);

// Copies the kernel at `kernel_path` (resolved inside the tree; a regular
// file) under its own file name.
WrittenFile copy_kernel(int tree_fd, const std::string& kernel_path, PendingOutputs& outputs);

}  // namespace stage::isomaker
