#include "stages/diskmaker/image_identity.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

#include <boost/crc.hpp>

#include "base/error.hpp"
#include "stages/fetcher/sha256.hpp"

namespace stage::diskmaker {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes read_at(int fd, std::uint64_t offset, std::size_t size, const std::string& name) {
  Bytes bytes(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "read", name);
    base::check(n > 0, "Failed to read '" + name + "': it ends before byte " + std::to_string(offset + size));
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

void write_at(int fd, std::uint64_t offset, const std::uint8_t* data, std::size_t size, const std::string& name) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "write", name);
    done += static_cast<std::size_t>(n);
  }
}

void write_at(int fd, std::uint64_t offset, const Bytes& bytes, const std::string& name) {
  write_at(fd, offset, bytes.data(), bytes.size(), name);
}

std::uint64_t file_size(int fd, const std::string& name) {
  struct stat st {};
  base::check_syscall(::fstat(fd, &st), "stat", name);
  return static_cast<std::uint64_t>(st.st_size);
}

std::uint64_t get_le(const Bytes& b, std::size_t at, unsigned width) {
  std::uint64_t v = 0;
  for (unsigned i = width; i-- > 0;) v = (v << 8) | b.at(at + i);
  return v;
}
void put_le(Bytes& b, std::size_t at, std::uint64_t v, unsigned width) {
  for (unsigned i = 0; i < width; ++i, v >>= 8) b.at(at + i) = static_cast<std::uint8_t>(v);
}
void put_be32(Bytes& b, std::size_t at, std::uint32_t v) {
  for (unsigned i = 0; i < 4; ++i) b.at(at + i) = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
bool has_magic(const Bytes& b, std::size_t at, std::string_view magic) {
  return b.size() >= at + magic.size() && std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}
void put_id(Bytes& b, std::size_t at, const std::string& disk_id, const std::string& label) {
  const auto id = artifact_id_bytes(disk_id, label);
  std::copy(id.begin(), id.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
}
std::string not_a(const std::string& name, std::string_view type, std::string_view why) {
  return "Failed to settle the identifiers of '" + name + "': it is not a " + std::string(type) + " file as " +
         "qemu-img writes one (" + std::string(why) + ")";
}

// vhd: a 512-byte footer at the end, copied at the start of a dynamic disk.
constexpr std::size_t kVpcFooter = 512;
constexpr std::int64_t kVpcEpoch = 946684800;  // 2000-01-01T00:00:00Z

void settle_vpc_footer(int fd, std::uint64_t offset, const std::string& name, const ImageIdentity& identity) {
  Bytes footer = read_at(fd, offset, kVpcFooter, name);
  if (identity.time) {
    const std::int64_t since = std::clamp<std::int64_t>(*identity.time - kVpcEpoch, 0,
                                                        std::numeric_limits<std::uint32_t>::max());
    put_be32(footer, 24, static_cast<std::uint32_t>(since));
  }
  put_id(footer, 68, identity.disk_id, "vhd:unique-id");
  put_be32(footer, 64, 0);
  std::uint32_t sum = 0;
  for (const std::uint8_t b : footer) sum += b;
  put_be32(footer, 64, ~sum);
  write_at(fd, offset, footer, name);
}

void settle_vpc(int fd, const std::string& name, const ImageIdentity& identity) {
  const std::uint64_t size = file_size(fd, name);
  base::check(size >= kVpcFooter && has_magic(read_at(fd, size - kVpcFooter, 8, name), 0, "conectix"),
              not_a(name, "vhd", "no 'conectix' footer at its end"));
  settle_vpc_footer(fd, size - kVpcFooter, name, identity);
  if (size >= 2 * kVpcFooter && has_magic(read_at(fd, 0, 8, name), 0, "conectix")) {
    settle_vpc_footer(fd, 0, name, identity);
  }
}

// vdi: one header at the start; the UUIDs carry no checksum.
void settle_vdi(int fd, const std::string& name, const ImageIdentity& identity) {
  Bytes header = read_at(fd, 0, 456, name);
  base::check(get_le(header, 64, 4) == 0xbeda107f, not_a(name, "vdi", "no signature at byte 64"));
  put_id(header, 392, identity.disk_id, "vdi:image-uuid");
  put_id(header, 408, identity.disk_id, "vdi:last-snapshot-uuid");
  write_at(fd, 0, header, name);
}

// vmdk (monolithicSparse): the text descriptor's "CID=xxxxxxxx", and its
// extent line's file name: the file's own, which qemu-img took from the
// temporary name it wrote (readers of a monolithic file do not open it).
std::uint32_t vmdk_cid(const std::string& disk_id) {
  const auto id = artifact_id_bytes(disk_id, "vmdk:cid");
  const std::uint32_t cid = (std::uint32_t{id[0]} << 24) | (id[1] << 16) | (id[2] << 8) | id[3];
  return cid == 0xffffffffu ? 0xfffffffeu : cid;  // ffffffff: the parentCID of a disk without a parent
}

std::string settled_vmdk_descriptor(std::string text, const std::string& name, const ImageIdentity& identity) {
  // qemu-img writes the CID as "%x": 1 to 8 hex digits, not zero-padded.
  const std::size_t cid = text.find("\nCID=");
  const std::size_t digits = cid == std::string::npos ? cid : cid + 5;
  std::size_t end = digits;
  while (end != std::string::npos && end < text.size() && std::isxdigit(static_cast<unsigned char>(text[end]))) ++end;
  base::check(digits != std::string::npos && end > digits && end - digits <= 8 &&
                  (end == text.size() || text[end] == '\n'),
              not_a(name, "vmdk", "its descriptor has no CID of 1 to 8 hex digits"));
  static constexpr char kHex[] = "0123456789abcdef";
  const std::uint32_t value = vmdk_cid(identity.disk_id);
  std::string hex(8, '0');
  for (unsigned i = 0; i < 8; ++i) hex[i] = kHex[(value >> (28 - 4 * i)) & 0xf];
  text.replace(digits, end - digits, hex);
  const std::size_t extent = text.find(" SPARSE \"", text.find("\nRW "));
  const std::size_t open = extent == std::string::npos ? extent : extent + 9;
  const std::size_t close = open == std::string::npos ? open : text.find('"', open);
  base::check(close != std::string::npos && name.find('"') == std::string::npos,
              not_a(name, "vmdk", "its descriptor has no sparse extent line"));
  return text.replace(open, close - open, name);
}

void settle_vmdk(int fd, const std::string& name, const ImageIdentity& identity) {
  const Bytes header = read_at(fd, 0, 512, name);
  base::check(has_magic(header, 0, "KDMV"), not_a(name, "vmdk", "no sparse extent header"));
  const std::uint64_t offset = get_le(header, 28, 8) * 512;
  const std::uint64_t size = get_le(header, 36, 8) * 512;
  base::check(offset > 0 && size > 0 && size <= (1u << 20), not_a(name, "vmdk", "no embedded descriptor"));
  const Bytes region = read_at(fd, offset, size, name);
  const auto end = std::find(region.begin(), region.end(), 0);
  const std::string text = settled_vmdk_descriptor(std::string(region.begin(), end), name, identity);
  base::check(text.size() < size, "Failed to settle the identifiers of '" + name +
                                      "': its file name does not fit in the vmdk descriptor");
  Bytes settled(size, 0);
  std::copy(text.begin(), text.end(), settled.begin());
  write_at(fd, offset, settled, name);
}

// vhdx: two 4 KiB headers (CRC-32C), the log, the metadata region.
constexpr std::uint64_t kVhdxHeaders[] = {64 * 1024, 128 * 1024};
constexpr std::uint64_t kVhdxRegionTable = 192 * 1024;
constexpr std::size_t kVhdxHeaderSize = 4096;
// GUIDs as stored (the first three fields little-endian).
constexpr std::uint8_t kMetadataRegion[16] = {0x06, 0xA2, 0x7C, 0x8B, 0x90, 0x47, 0x9A, 0x4B,
                                              0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E};
constexpr std::uint8_t kPage83Item[16] = {0xAB, 0x12, 0xCA, 0xBE, 0xE6, 0xB2, 0x23, 0x45,
                                          0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46};

std::uint32_t crc32c(const Bytes& bytes) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

void zero_range(int fd, std::uint64_t offset, std::uint64_t length, const std::string& name) {
  const Bytes zeros(64 * 1024, 0);
  for (std::uint64_t done = 0; done < length;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), length - done));
    write_at(fd, offset + done, zeros.data(), n, name);
    done += n;
  }
}

void settle_vhdx_headers(int fd, const std::string& name, const ImageIdentity& identity) {
  std::vector<Bytes> headers;
  for (const std::uint64_t at : kVhdxHeaders) headers.push_back(read_at(fd, at, kVhdxHeaderSize, name));
  std::uint64_t lowest = std::numeric_limits<std::uint64_t>::max();
  for (const Bytes& h : headers) {
    base::check(has_magic(h, 0, "head"), not_a(name, "vhdx", "a header without its signature"));
    base::check(std::all_of(h.begin() + 48, h.begin() + 64, [](std::uint8_t b) { return b == 0; }),
                not_a(name, "vhdx", "a header names a log to replay"));
    lowest = std::min(lowest, get_le(h, 8, 8));
  }
  for (std::size_t i = 0; i < headers.size(); ++i) {
    Bytes& h = headers[i];
    const std::uint64_t log_length = get_le(h, 68, 4);
    const std::uint64_t log_offset = get_le(h, 72, 8);
    base::check(log_offset >= kVhdxRegionTable && log_length <= (1u << 30) &&
                    log_offset + log_length <= file_size(fd, name),
                not_a(name, "vhdx", "its log lies outside the file"));
    zero_range(fd, log_offset, log_length, name);
    // Which header is current follows from the order of the sequence numbers alone.
    put_le(h, 8, get_le(h, 8, 8) - lowest + 1, 8);
    put_id(h, 16, identity.disk_id, "vhdx:file-write-guid");
    put_id(h, 32, identity.disk_id, "vhdx:data-write-guid");
    put_le(h, 4, 0, 4);
    put_le(h, 4, crc32c(h), 4);
    write_at(fd, kVhdxHeaders[i], h, name);
  }
}

void settle_vhdx_page83(int fd, const std::string& name, const ImageIdentity& identity) {
  const Bytes regions = read_at(fd, kVhdxRegionTable, 64 * 1024, name);
  base::check(has_magic(regions, 0, "regi"), not_a(name, "vhdx", "no region table"));
  const std::uint64_t count = std::min<std::uint64_t>(get_le(regions, 8, 4), 2047);
  for (std::uint64_t r = 0; r < count; ++r) {
    const std::size_t entry = 16 + 32 * r;
    if (std::memcmp(regions.data() + entry, kMetadataRegion, 16) != 0) continue;
    const std::uint64_t region = get_le(regions, entry + 16, 8);
    const Bytes table = read_at(fd, region, 64 * 1024, name);
    base::check(has_magic(table, 0, "metadata"), not_a(name, "vhdx", "no metadata table"));
    const std::uint64_t items = std::min<std::uint64_t>(get_le(table, 10, 2), 2047);
    for (std::uint64_t i = 0; i < items; ++i) {
      const std::size_t item = 32 + 32 * i;
      if (std::memcmp(table.data() + item, kPage83Item, 16) != 0) continue;
      base::check(get_le(table, item + 20, 4) == 16, not_a(name, "vhdx", "a Page 83 id of another size"));
      Bytes id(16);
      put_id(id, 0, identity.disk_id, "vhdx:page83-id");
      write_at(fd, region + get_le(table, item + 16, 4), id, name);
      return;
    }
  }
  base::fail(base::ErrorKind::kFailed, not_a(name, "vhdx", "no Page 83 id in its metadata"));
}

}  // namespace

std::array<std::uint8_t, 16> artifact_id_bytes(const std::string& disk_id, const std::string& label) {
  stage::fetcher::Sha256 hasher;
  const std::string input = "os-image-composer artifact id 1\n" + disk_id + "\n" + label;
  hasher.update(input.data(), input.size());
  const std::string hex = hasher.finish_hex();
  std::array<std::uint8_t, 16> id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0f) | 0x40);  // version 4
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return id;
}

void settle_image_identity(int fd, const std::string& type, const std::string& name, const ImageIdentity& identity) {
  if (type == "vhd") {
    settle_vpc(fd, name, identity);
  } else if (type == "vdi") {
    settle_vdi(fd, name, identity);
  } else if (type == "vmdk") {
    settle_vmdk(fd, name, identity);
  } else if (type == "vhdx") {
    settle_vhdx_headers(fd, name, identity);
    settle_vhdx_page83(fd, name, identity);
  }
}

}  // namespace stage::diskmaker
