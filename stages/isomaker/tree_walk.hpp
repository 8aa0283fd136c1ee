// The entries of a root tree in the order the initrd stores them: sorted by
// path (bytewise), parents before children, without the excluded paths and
// everything below them. Symlinks are entries, never followed.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

namespace stage::isomaker {

struct TreeEntry {
  std::string path;  // relative to the tree, no leading '/' ("usr/bin/sh")
  struct stat st;    // lstat(2) as this process sees it
};

// Excluded paths as the walk compares them: absolute in the request, no
// "." or ".." component; returned relative, without trailing '/'.
std::vector<std::string> normalize_excluded(const std::vector<std::string>& excluded);

std::vector<TreeEntry> walk_tree(int tree_fd, const std::vector<std::string>& excluded);

}  // namespace stage::isomaker
