#include "live/disk_check.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cctype>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "live/disks.hpp"

namespace live {
namespace {

namespace fs = std::filesystem;

std::uint64_t block_size(const std::string& path) {
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return 0;
  std::uint64_t bytes = 0;
  if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0) return 0;
  return bytes;
}

}  // namespace

DiskFacts probe_disk(const std::string& path, const fs::path& sys) {
  DiskFacts facts;
  facts.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return facts;
  facts.exists = true;
  facts.is_block = S_ISBLK(st.st_mode);
  if (!facts.is_block) return facts;
  std::error_code ec;
  facts.is_partition = fs::exists(sys / "dev" / "block" / devnum_text(st.st_rdev) / "partition", ec);
  facts.disk_name = disk_holding(st.st_rdev, sys / "block").value_or("");
  facts.size = block_size(path);
  return facts;
}

std::optional<std::string> disk_refusal(const DiskFacts& disk, std::uint64_t raw_size,
                                        const std::optional<std::string>& medium_disk) {
  const std::string name = "disk " + disk.path;
  if (!disk.exists) return name + " does not exist";
  if (!disk.is_block) return name + " is not a block device";
  if (disk.is_partition) return name + " is a partition; name the whole disk";
  if (medium_disk && disk.disk_name == *medium_disk) return name + " holds the install medium";
  if (disk.size < raw_size) {
    return name + " has " + std::to_string(disk.size) + " bytes (" + human_size(disk.size) + "); the image needs " +
           std::to_string(raw_size) + " (" + human_size(raw_size) + ")";
  }
  return std::nullopt;
}

DiskFacts check_target_disk(const std::string& path, std::uint64_t raw_size,
                            const std::optional<std::string>& medium_disk, const fs::path& sys) {
  DiskFacts facts = probe_disk(path, sys);
  if (auto why = disk_refusal(facts, raw_size, medium_disk)) base::fail(base::ErrorKind::kInvalidInput, *why);
  return facts;
}

std::string partition_device(const std::string& disk, unsigned number) {
  const bool ends_in_digit = !disk.empty() && std::isdigit(static_cast<unsigned char>(disk.back()));
  return disk + (ends_in_digit ? "p" : "") + std::to_string(number);
}

}  // namespace live
