#include "live/root_filesystem.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/error.hpp"
#include "live/command.hpp"

namespace live {
namespace {

void run_checked(const std::vector<std::string>& argv, int worst_accepted) {
  const CommandResult result = run_command(argv);
  if (result.exit_code >= 0 && result.exit_code <= worst_accepted) return;
  base::fail(base::ErrorKind::kFailed, "'" + command_line(argv) + "' failed (exit code " +
                                           std::to_string(result.exit_code) + "):\n" + result.output);
}

}  // namespace

void reread_partition_table(int disk_fd, const std::string& disk_name, const std::string& partition_device) {
  struct stat st {};
  base::check_syscall(::fstat(disk_fd, &st), "stat", disk_name);
  if (!S_ISBLK(st.st_mode)) return;
  // udev may still hold the disk open from the writes: retry while busy.
  for (int attempt = 0; ::ioctl(disk_fd, BLKRRPART) != 0; ++attempt) {
    if (errno != EBUSY || attempt == 20) base::check_syscall(-1, "re-read the partition table of", disk_name);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // udev re-reads a disk closed after writing as well; let its events finish so
  // the partition's device is not removed and re-added under e2fsck. Live
  // environments without udevadm simply skip this.
  run_command({"udevadm", "settle", "--timeout=30"});
  for (int waited = 0; ::access(partition_device.c_str(), F_OK) != 0; ++waited) {
    base::require(waited < 100, "partition " + partition_device + " did not appear after re-reading the table of " +
                                    disk_name);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void grow_ext_filesystem(const std::string& device) {
  run_checked({"e2fsck", "-fy", device}, 2);
  run_checked({"resize2fs", device}, 0);
}

}  // namespace live
