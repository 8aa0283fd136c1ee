// The headers of a PE/COFF image (an EFI binary: shim, GRUB, a kernel, a
// UKI), read from its bytes with every offset checked against them: the
// installer places a UKI's sections and patches shim with it, the inspector
// reads UKIs of an image that may be hostile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace base {

struct PeSection {
  std::string name;  // a long name ("/N") resolved through the COFF string table
  std::uint64_t virtual_size = 0;
  std::uint64_t virtual_address = 0;
  std::uint64_t raw_size = 0;
  std::uint64_t raw_offset = 0;  // not checked against the file: section_data() does
};

struct PeImage {
  std::uint64_t optional_magic = 0;  // 0x20b PE32+, 0x10b PE32, else unknown
  std::uint64_t image_base = 0;      // 0 when the optional header is unknown
  std::vector<PeSection> sections;

  // The section named `name`, or nullptr.
  const PeSection* find(std::string_view name) const;
};

// Throws kInvalidInput "Failed to read <where>: ..." when `bytes` does not
// start with MZ, has no PE signature, or a header lies past its end.
PeImage read_pe_image(std::string_view bytes, std::string_view where);

// The raw data of `section` inside `bytes`; kInvalidInput naming `where`
// when it lies past the end of the file.
std::string_view section_data(std::string_view bytes, const PeSection& section, std::string_view where);

// The PE checksum of `bytes` with the 4 bytes at `checksum_at` taken as 0:
// 16-bit little-endian words summed with each carry folded back, plus the
// file's length (what objcopy writes into the optional header's CheckSum).
std::uint32_t pe_checksum(std::string_view bytes, std::uint64_t checksum_at);

// Sets the COFF header's TimeDateStamp to `time` and, when the optional
// header's CheckSum is set, makes it again: objcopy stamps a UKI with the
// time it ran and reads no SOURCE_DATE_EPOCH. kInvalidInput naming `where`
// when `bytes` is not a PE image.
void set_pe_timestamp(std::string& bytes, std::uint32_t time, std::string_view where);

// Makes a shim trust only the firmware's db: sets the authorized_size (the
// first u32) of its .vendor_cert section to 0, so the distribution's CA
// built into it (Debian's shim-unsigned carries Debian's) is not used. The
// installer (a disk's ESP) and the ISO maker (its EFI image) both do.
// Throws kInvalidInput when `image` is no PE image or has no such section.
void disable_shim_vendor_cert(std::string& image);

}  // namespace base
