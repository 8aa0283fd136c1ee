#include "supervisor/vm/media_kind.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "base/error.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using namespace std::string_view_literals;

bool has_at(std::string_view bytes, std::size_t offset, std::string_view magic) {
  return bytes.size() >= offset + magic.size() && bytes.substr(offset, magic.size()) == magic;
}

bool is_cpio(std::string_view head) {
  // newc ("070701"), newc with checksums ("070702"), odc ("070707"); the old
  // binary format starts with 070707 as a 16-bit word in either byte order.
  return has_at(head, 0, "070701") || has_at(head, 0, "070702") || has_at(head, 0, "070707") ||
         has_at(head, 0, "\xc7\x71"sv) || has_at(head, 0, "\x71\xc7"sv);
}

// The compressions the kernel unpacks an initramfs from, by magic bytes.
std::string_view initrd_compression(std::string_view head) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kMagic = {{
      {"\x1f\x8b"sv, "gzip"},
      {"\x28\xb5\x2f\xfd"sv, "zstd"},
      {"\xfd" "7zXZ\x00"sv, "xz"},
      {"\x02\x21\x4c\x18"sv, "lz4"},
      {"BZh"sv, "bzip2"},
      {"\x5d\x00\x00"sv, "lzma"},
  }};
  for (const auto& [magic, name] : kMagic) {
    if (has_at(head, 0, magic)) return name;
  }
  return {};
}

}  // namespace

std::string_view to_string(MediaKind kind) {
  static constexpr std::string_view kNames[] = {"disk image", "ISO image", "initrd"};
  return kNames[static_cast<std::size_t>(kind)];
}

OpenImage open_image(const fs::path& file, std::string_view what) {
  const std::string named = std::string(what) + " '" + file.string() + "'";
  const int raw_fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw_fd < 0) {
    const int e = errno;
    throw base::Error(base::ErrorKind::kInvalidInput, "Failed to open " + named + ": " + std::strerror(e))
        .with_errno(e);
  }
  OpenImage image{base::UniqueFd(raw_fd), 0};
  struct stat st {};
  base::check_syscall(::fstat(image.fd.get(), &st), "inspect image", file.string());
  base::require(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode),
                "Failed to boot " + named + ": not a regular file or block device");
  image.size = S_ISBLK(st.st_mode) ? ::lseek(image.fd.get(), 0, SEEK_END) : st.st_size;
  base::require(image.size > 0, "Failed to boot " + named + ": the file is empty");
  return image;
}

std::string read_image_at(const OpenImage& image, std::size_t size, off_t offset, const fs::path& file) {
  std::string bytes(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(image.fd.get(), bytes.data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read image", file.string());
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

MediaProbe probe_media(std::string_view head) {
  if (has_at(head, 0x8001, "CD001")) return {MediaKind::kIso, "none"};
  if (is_cpio(head)) return {MediaKind::kInitrd, "none"};
  if (const std::string_view compression = initrd_compression(head); !compression.empty()) {
    return {MediaKind::kInitrd, compression};
  }
  return {MediaKind::kDisk, "none"};
}

MediaProbe detect_media(const fs::path& file) {
  const OpenImage image = open_image(file);
  return probe_media(read_image_at(image, kMediaHeadBytes, 0, file));
}

void require_linux_kernel(const fs::path& kernel) {
  const OpenImage image = open_image(kernel, "kernel");
  base::require(read_image_at(image, 4, 0x202, kernel) == "HdrS",
                "Failed to boot kernel '" + kernel.string() +
                    "': not an x86 Linux kernel (no bzImage header 'HdrS' at offset 0x202)");
}

}  // namespace supervisor
