// After the partition table has grown: make the kernel see the new table and
// grow the root file system (ext2/3/4) to fill its partition.
#pragma once

#include <string>

namespace live {

// BLKRRPART on a block device (nothing for a regular file), then waits up to
// ten seconds for `partition_device` to appear.
void reread_partition_table(int disk_fd, const std::string& disk_name, const std::string& partition_device);

// `e2fsck -fy` (exit codes 0-2 accepted: errors corrected) then `resize2fs`
// on `device`, a block device or a file holding the file system.
void grow_ext_filesystem(const std::string& device);

}  // namespace live
