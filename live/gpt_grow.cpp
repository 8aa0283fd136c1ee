#include "live/gpt_grow.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/error.hpp"

namespace live {
namespace {

constexpr std::uint64_t kSector = 512;
constexpr std::size_t kHeaderCrc = 16, kMyLba = 24, kAlternateLba = 32, kLastUsable = 48, kEntriesLba = 72,
                      kEntryCount = 80, kEntrySize = 84, kEntriesCrc = 88;
constexpr std::size_t kEntryFirst = 32, kEntryLast = 40;

using Bytes = std::vector<unsigned char>;

template <typename T>
T get(const Bytes& b, std::size_t at) {
  T value;
  std::memcpy(&value, b.data() + at, sizeof value);  // GPT is little-endian, as are our targets
  return value;
}

template <typename T>
void put(Bytes& b, std::size_t at, T value) {
  std::memcpy(b.data() + at, &value, sizeof value);
}

std::uint32_t crc_of(const Bytes& b, std::size_t size) {
  return static_cast<std::uint32_t>(crc32(0, b.data(), static_cast<uInt>(size)));
}

Bytes read_at(int fd, std::uint64_t offset, std::size_t size, const std::string& disk) {
  Bytes bytes(size);
  const ssize_t n = base::check_syscall(::pread(fd, bytes.data(), size, static_cast<off_t>(offset)), "read", disk);
  base::require(static_cast<std::size_t>(n) == size, "disk " + disk + " is shorter than its partition table says");
  return bytes;
}

void write_at(int fd, std::uint64_t offset, const Bytes& bytes, const std::string& disk) {
  const ssize_t n = base::check_syscall(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
                                        "write the partition table of", disk);
  base::check(static_cast<std::size_t>(n) == bytes.size(), "short write to the partition table of " + disk);
}

struct Table {
  Bytes header;  // header_size bytes
  Bytes entries;
  std::uint32_t entry_size = 0;
};

Table read_primary(int fd, const std::string& disk) {
  Table t;
  Bytes sector = read_at(fd, kSector, kSector, disk);
  base::require(std::memcmp(sector.data(), "EFI PART", 8) == 0, "disk " + disk + " has no GPT after the image was written");
  const auto size = get<std::uint32_t>(sector, 12);
  base::require(size >= 92 && size <= kSector, "disk " + disk + ": GPT header size " + std::to_string(size) + " is invalid");
  t.header.assign(sector.begin(), sector.begin() + size);
  const auto crc = get<std::uint32_t>(t.header, kHeaderCrc);
  put<std::uint32_t>(t.header, kHeaderCrc, 0);
  base::require(crc_of(t.header, size) == crc, "disk " + disk + ": the primary GPT header's CRC32 is wrong");
  t.entry_size = get<std::uint32_t>(t.header, kEntrySize);
  const auto count = get<std::uint32_t>(t.header, kEntryCount);
  base::require(t.entry_size >= 128 && count > 0 && count <= 1024, "disk " + disk + ": GPT entry array is invalid");
  t.entries = read_at(fd, get<std::uint64_t>(t.header, kEntriesLba) * kSector, std::size_t{count} * t.entry_size, disk);
  base::require(crc_of(t.entries, t.entries.size()) == get<std::uint32_t>(t.header, kEntriesCrc),
                "disk " + disk + ": the GPT partition entries' CRC32 is wrong");
  return t;
}

bool entry_used(const Table& t, std::size_t index) {
  const unsigned char* type = t.entries.data() + index * t.entry_size;
  return std::any_of(type, type + 16, [](unsigned char c) { return c != 0; });
}

// Grows entry `index` to `last`; it must be used and start after every other one.
GrownPartition grow_entry(Table& t, std::size_t index, std::uint64_t last, const std::string& disk) {
  const std::string name = "partition " + std::to_string(index + 1) + " of disk " + disk;
  base::require(index * t.entry_size < t.entries.size() && entry_used(t, index), name + " does not exist");
  const std::size_t at = index * t.entry_size;
  GrownPartition grown{get<std::uint64_t>(t.entries, at + kEntryFirst), get<std::uint64_t>(t.entries, at + kEntryLast), last};
  for (std::size_t i = 0; i * t.entry_size < t.entries.size(); ++i) {
    if (i == index || !entry_used(t, i)) continue;
    base::require(get<std::uint64_t>(t.entries, i * t.entry_size + kEntryFirst) < grown.first_lba,
                  name + " is not the last partition on the disk (partition " + std::to_string(i + 1) +
                      " follows it); it cannot grow");
  }
  base::require(last >= grown.old_last_lba, "disk " + disk + " is smaller than its partition table says");
  put<std::uint64_t>(t.entries, at + kEntryLast, last);
  return grown;
}

Bytes sealed(Bytes header) {
  put<std::uint32_t>(header, kHeaderCrc, 0);
  put<std::uint32_t>(header, kHeaderCrc, crc_of(header, header.size()));
  header.resize(kSector, 0);  // the rest of the header's sector is zero
  return header;
}

// The protective MBR's 0xEE entry covers the whole disk (capped at 2^32-1 sectors).
void update_protective_mbr(int fd, std::uint64_t sectors, const std::string& disk) {
  Bytes mbr = read_at(fd, 0, kSector, disk);
  if (mbr[446 + 4] != 0xEE) return;
  put<std::uint32_t>(mbr, 446 + 12, static_cast<std::uint32_t>(std::min<std::uint64_t>(sectors - 1, 0xFFFFFFFFu)));
  write_at(fd, 0, mbr, disk);
}

}  // namespace

GrownPartition grow_gpt_partition(int fd, std::uint64_t disk_bytes, unsigned partition, const std::string& disk) {
  Table t = read_primary(fd, disk);
  const std::uint64_t sectors = disk_bytes / kSector;
  const std::uint64_t entry_sectors = (t.entries.size() + kSector - 1) / kSector;
  const std::uint64_t old_backup = get<std::uint64_t>(t.header, kAlternateLba);
  const std::uint64_t backup = sectors - 1, backup_entries = backup - entry_sectors;
  base::require(sectors > entry_sectors + 2 && backup >= old_backup,
                "disk " + disk + " is smaller than the image's partition table");
  const GrownPartition grown = grow_entry(t, partition - 1, backup_entries - 1, disk);
  put<std::uint64_t>(t.header, kAlternateLba, backup);
  put<std::uint64_t>(t.header, kLastUsable, backup_entries - 1);
  put<std::uint32_t>(t.header, kEntriesCrc, crc_of(t.entries, t.entries.size()));
  Bytes backup_header = t.header;
  put<std::uint64_t>(backup_header, kMyLba, backup);
  put<std::uint64_t>(backup_header, kAlternateLba, 1);
  put<std::uint64_t>(backup_header, kEntriesLba, backup_entries);
  // The old backup header now lies inside the grown partition: clear it.
  if (old_backup != backup) write_at(fd, old_backup * kSector, Bytes(kSector, 0), disk);
  write_at(fd, backup_entries * kSector, t.entries, disk);
  write_at(fd, backup * kSector, sealed(backup_header), disk);
  write_at(fd, get<std::uint64_t>(t.header, kEntriesLba) * kSector, t.entries, disk);
  write_at(fd, kSector, sealed(t.header), disk);
  update_protective_mbr(fd, sectors, disk);
  base::check_syscall(::fsync(fd), "sync", disk);
  return grown;
}

unsigned logical_sector_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode)) return kSector;
  int size = 0;
  base::check_syscall(::ioctl(fd, BLKSSZGET, &size), "read the sector size of the disk");
  return static_cast<unsigned>(size);
}

}  // namespace live
