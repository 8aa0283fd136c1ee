#include "stages/installer/grub_memdisk.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "base/error.hpp"
#include "stages/installer/os_config.hpp"

namespace stage::installer {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kMagicAt = 257;
constexpr std::size_t kMtimeAt = 136;
constexpr std::size_t kMtimeSize = 12;
constexpr std::size_t kChecksumAt = 148;
constexpr std::size_t kChecksumSize = 8;

// The ustar checksum: the header's bytes summed, its own field counted as blanks.
unsigned header_checksum(const char* header) {
  unsigned sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= kChecksumAt && i < kChecksumAt + kChecksumSize;
    sum += in_field ? ' ' : static_cast<unsigned char>(header[i]);
  }
  return sum;
}

// The octal number at the start of a field (leading blanks allowed), or -1.
long stored_checksum(const char* header) {
  long value = 0;
  std::size_t i = 0;
  while (i < kChecksumSize && header[kChecksumAt + i] == ' ') ++i;
  const std::size_t first = i;
  for (; i < kChecksumSize && header[kChecksumAt + i] >= '0' && header[kChecksumAt + i] <= '7'; ++i) {
    value = value * 8 + (header[kChecksumAt + i] - '0');
  }
  return i == first ? -1 : value;
}

}  // namespace

std::size_t set_tar_header_times(std::string& image, std::int64_t time) {
  base::require(time >= 0 && time <= 077777777777, "Failed to set tar times: " + std::to_string(time) +
                                                      " does not fit a ustar header's mtime");
  std::size_t changed = 0;
  for (std::size_t at = image.find("ustar", kMagicAt); at != std::string::npos; at = image.find("ustar", at + 1)) {
    const std::size_t start = at - kMagicAt;
    if (start + kBlock > image.size()) break;
    char* header = image.data() + start;
    if (stored_checksum(header) != static_cast<long>(header_checksum(header))) continue;
    char field[kMtimeSize + 1];
    std::snprintf(field, sizeof field, "%011llo", static_cast<unsigned long long>(time));
    std::memcpy(header + kMtimeAt, field, kMtimeSize);  // 11 digits and the NUL
    char sum[kChecksumSize + 1];
    std::snprintf(sum, sizeof sum, "%06o", header_checksum(header));
    std::memcpy(header + kChecksumAt, sum, 7);  // 6 digits and the NUL
    header[kChecksumAt + 7] = ' ';
    ++changed;
  }
  return changed;
}

void settle_grub_memdisk_times(const std::string& root, const std::string& path, std::int64_t time) {
  base::UniqueFd fd = open_in_root(root, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  base::require(static_cast<bool>(fd), "Failed to set the memdisk times of '" + path + "': it does not exist");
  struct stat st {};
  base::check_syscall(::fstat(fd.get(), &st), "stat", path);
  std::string image = read_file_in_root(root, path).value_or("");
  base::check(set_tar_header_times(image, time) > 0,
              "Failed to set the memdisk times of '" + path + "': grub-mkstandalone wrote no tar header into it");
  write_file_in_root(root, path, image, st.st_mode & 07777);
}

}  // namespace stage::installer
