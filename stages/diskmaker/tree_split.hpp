// Splits the image tree by partition: the subtree under each mount point
// other than "/" is renamed into a work directory (deepest mount point
// first), and an empty directory with the same owner, mode and times is
// left in its place, so mkfs.ext4 -d of "/" sees only what belongs to "/".
// rename(2) needs the work directory on the same file system as the tree.
// The subtrees are moved back when the split ends (restore() or destructor).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stages/diskmaker/layout.hpp"

namespace stage::diskmaker {

class TreeSplit {
 public:
  // `root_fd`, `work_fd`: directories; `partitions` in moved_out_order.
  TreeSplit(int root_fd, int work_fd, const std::vector<const PartitionSpec*>& partitions);
  ~TreeSplit();
  TreeSplit(const TreeSplit&) = delete;
  TreeSplit& operator=(const TreeSplit&) = delete;

  // The name inside the work directory holding partition `id`'s files.
  std::optional<std::string> moved_name(const std::string& id) const;

  // Moves every subtree back (shallowest first). Throws on failure.
  void restore();

 private:
  struct Moved {
    std::string id;
    std::string relative;  // mount point without the leading '/'
    std::string name;      // in the work directory
    bool existed = true;   // false: the mount point was made by the split
  };
  void move_out(const PartitionSpec& partition);
  void move_back(const Moved& moved);

  int root_fd_;
  int work_fd_;
  std::vector<Moved> moved_;
};

}  // namespace stage::diskmaker
