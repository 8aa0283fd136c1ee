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

// Writes the cpio of the tree at `tree_fd` as `output_name` into `out_fd`
// (under a temporary name until complete).
WrittenFile write_initrd(int tree_fd, int out_fd, const InitrdSpec& spec);

// Copies the kernel at `kernel_path` in the tree (resolved inside the tree)
// beside it under its own file name.
WrittenFile copy_kernel(int tree_fd, int out_fd, const std::string& kernel_path);

}  // namespace stage::isomaker
