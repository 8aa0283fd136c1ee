#include "base/pe_image.hpp"

#include <cctype>

#include "base/error.hpp"

namespace base {
namespace {

[[noreturn]] void refuse(std::string_view where, const std::string& why) {
  fail(ErrorKind::kInvalidInput, "Failed to read " + std::string(where) + ": " + why);
}

void require_inside(std::string_view bytes, std::uint64_t offset, std::uint64_t size, std::string_view where) {
  if (offset > bytes.size() || bytes.size() - offset < size) {
    refuse(where, "its PE headers are truncated (a field at byte " + std::to_string(offset) + " of " +
                      std::to_string(bytes.size()) + ")");
  }
}

// `size` (at most 8) bytes at `offset`, little-endian.
std::uint64_t read_le(std::string_view bytes, std::uint64_t offset, std::size_t size, std::string_view where) {
  require_inside(bytes, offset, size, where);
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value |= std::uint64_t{static_cast<unsigned char>(bytes[offset + i])} << (8 * i);
  return value;
}

// A section header's name: 8 bytes, NUL-padded, or "/N" for a longer one
// at offset N of the COFF string table after the symbol table (shim's
// ".vendor_cert" is "/37").
std::string section_name(std::string_view bytes, std::uint64_t coff, std::uint64_t header, std::string_view where) {
  std::string_view name = bytes.substr(header, 8);
  name = name.substr(0, name.find('\0'));
  if (!name.starts_with('/')) return std::string(name);
  std::uint64_t offset = 0;
  for (const char c : name.substr(1)) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) refuse(where, "section name '" + std::string(name) + "' is not /<offset>");
    offset = offset * 10 + static_cast<std::uint64_t>(c - '0');
  }
  const std::uint64_t strings = read_le(bytes, coff + 8, 4, where) + read_le(bytes, coff + 12, 4, where) * 18;
  if (strings + offset >= bytes.size()) {
    refuse(where, "section name '" + std::string(name) + "' lies past the end of the file");
  }
  const std::string_view rest = bytes.substr(strings + offset);
  const std::size_t end = rest.find('\0');
  if (end == std::string_view::npos) refuse(where, "its string table has no end");
  return std::string(rest.substr(0, end));
}

}  // namespace

const PeSection* PeImage::find(std::string_view name) const {
  for (const PeSection& section : sections) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

PeImage read_pe_image(std::string_view bytes, std::string_view where) {
  if (!bytes.starts_with("MZ")) refuse(where, "it is not a PE image: it does not start with MZ");
  const std::uint64_t pe = read_le(bytes, 0x3c, 4, where);
  if (read_le(bytes, pe, 4, where) != 0x00004550) refuse(where, "no PE signature at byte " + std::to_string(pe));
  const std::uint64_t coff = pe + 4;
  const std::uint64_t count = read_le(bytes, coff + 2, 2, where);
  const std::uint64_t optional = coff + 20;
  const std::uint64_t table = optional + read_le(bytes, coff + 16, 2, where);
  PeImage image;
  image.optional_magic = read_le(bytes, optional, 2, where);
  if (image.optional_magic == 0x20b) image.image_base = read_le(bytes, optional + 24, 8, where);
  if (image.optional_magic == 0x10b) image.image_base = read_le(bytes, optional + 28, 4, where);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t header = table + 40 * i;
    require_inside(bytes, header, 40, where);
    image.sections.push_back({.name = section_name(bytes, coff, header, where),
                              .virtual_size = read_le(bytes, header + 8, 4, where),
                              .virtual_address = read_le(bytes, header + 12, 4, where),
                              .raw_size = read_le(bytes, header + 16, 4, where),
                              .raw_offset = read_le(bytes, header + 20, 4, where)});
  }
  return image;
}

std::uint32_t pe_checksum(std::string_view bytes, std::uint64_t checksum_at) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < bytes.size(); i += 2) {
    if (i >= checksum_at && i < checksum_at + 4) continue;
    const std::uint64_t low = static_cast<unsigned char>(bytes[i]);
    const std::uint64_t high = i + 1 < bytes.size() ? static_cast<unsigned char>(bytes[i + 1]) : 0;
    sum += low | (high << 8);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint32_t>(sum + bytes.size());
}

void set_pe_timestamp(std::string& bytes, std::uint32_t time, std::string_view where) {
  (void)read_pe_image(bytes, where);  // MZ, the PE signature, the headers inside the file
  const std::uint64_t coff = read_le(bytes, 0x3c, 4, where) + 4;
  const std::uint64_t checksum_at = coff + 20 + 64;  // the same in PE32 and PE32+
  require_inside(bytes, checksum_at, 4, where);
  const auto put = [&bytes](std::uint64_t at, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) bytes[at + static_cast<std::uint64_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
  };
  put(coff + 4, time);
  if (read_le(bytes, checksum_at, 4, where) != 0) put(checksum_at, pe_checksum(bytes, checksum_at));
}

std::string_view section_data(std::string_view bytes, const PeSection& section, std::string_view where) {
  if (section.raw_offset > bytes.size() || bytes.size() - section.raw_offset < section.raw_size) {
    refuse(where, "section " + section.name + " lies past the end of the file");
  }
  return bytes.substr(section.raw_offset, section.raw_size);
}

void disable_shim_vendor_cert(std::string& image) {
  constexpr std::string_view kWhere = "the shim";
  const PeImage pe = read_pe_image(image, kWhere);
  const PeSection* section = pe.find(".vendor_cert");
  require(section != nullptr, "Failed to use the shim: it has no .vendor_cert section");
  // struct { u32 authorized_size, deauthorized_size, authorized_offset, deauthorized_offset; }
  require(section_data(image, *section, kWhere).size() >= 16,
          "Failed to use the shim: its .vendor_cert section is shorter than its header");
  image.replace(section->raw_offset, 4, 4, '\0');
}

}  // namespace base
