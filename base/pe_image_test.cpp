#include "base/pe_image.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace base {
namespace {

using ::testing::HasSubstr;

void put_le(std::string& bytes, std::size_t at, std::uint64_t value, int size) {
  for (int i = 0; i < size; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// A PE32+ image of 0x400 bytes: PE header at 0x80, optional header of 240
// bytes, two sections (".text" and a long name "/4" = ".vendor_cert" in the
// string table at 0x3f0), each section's raw data given.
constexpr std::size_t kCoff = 0x84;
constexpr std::size_t kTable = kCoff + 20 + 240;

std::string fake_pe() {
  std::string bytes(0x400, '\0');
  bytes.replace(0, 2, "MZ");
  put_le(bytes, 0x3c, 0x80, 4);
  put_le(bytes, 0x80, 0x00004550, 4);
  put_le(bytes, kCoff + 2, 2, 2);      // sections
  put_le(bytes, kCoff + 8, 0x3f0, 4);  // symbol table, empty: the string table follows
  put_le(bytes, kCoff + 16, 240, 2);   // optional header size
  put_le(bytes, kCoff + 20, 0x20b, 2);
  put_le(bytes, kCoff + 20 + 24, 0x10000000, 8);
  bytes.replace(kTable, 5, ".text");
  put_le(bytes, kTable + 8, 0x100, 4);     // virtual size
  put_le(bytes, kTable + 12, 0x1000, 4);   // address
  put_le(bytes, kTable + 16, 0x100, 4);    // raw size
  put_le(bytes, kTable + 20, 0x200, 4);    // raw offset
  bytes.replace(kTable + 40, 2, "/4");
  put_le(bytes, kTable + 40 + 8, 0, 4);
  put_le(bytes, kTable + 40 + 12, 0x2000, 4);
  put_le(bytes, kTable + 40 + 16, 0x10, 4);
  put_le(bytes, kTable + 40 + 20, 0x300, 4);
  bytes.replace(0x3f0 + 4, 13, std::string(".vendor_cert\0", 13));
  bytes.replace(0x300, 5, "hello");
  return bytes;
}

std::string message_of(const std::string& bytes) {
  try {
    read_pe_image(bytes, "x.efi");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  return "no error";
}

TEST(PeImage, ReadsSectionsWithShortAndLongNames) {
  const std::string bytes = fake_pe();
  const PeImage image = read_pe_image(bytes, "x.efi");
  EXPECT_EQ(image.optional_magic, 0x20bu);
  EXPECT_EQ(image.image_base, 0x10000000u);
  ASSERT_EQ(image.sections.size(), 2u);
  EXPECT_EQ(image.sections[0].name, ".text");
  EXPECT_EQ(image.sections[0].virtual_address, 0x1000u);
  const PeSection* cert = image.find(".vendor_cert");
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(cert->raw_offset, 0x300u);
  EXPECT_EQ(section_data(bytes, *cert, "x.efi").substr(0, 5), "hello");
  EXPECT_EQ(image.find(".sbat"), nullptr);
}

TEST(PeImage, RefusesWhatIsNoPeImageNamingTheFile) {
  EXPECT_THAT(message_of("ELF"), HasSubstr("Failed to read x.efi: it is not a PE image"));
  std::string no_signature = fake_pe();
  put_le(no_signature, 0x80, 0, 4);
  EXPECT_THAT(message_of(no_signature), HasSubstr("no PE signature at byte 128"));
  EXPECT_THAT(message_of(fake_pe().substr(0, kTable + 50)), HasSubstr("its PE headers are truncated"));
  std::string far_header = fake_pe();
  put_le(far_header, 0x3c, 0xffffffff, 4);
  EXPECT_THAT(message_of(far_header), HasSubstr("its PE headers are truncated"));
}

TEST(PeImage, RefusesBadLongNames) {
  std::string bad = fake_pe();
  bad.replace(kTable + 40, 2, "/x");
  EXPECT_THAT(message_of(bad), HasSubstr("section name '/x' is not /<offset>"));
  std::string far = fake_pe();
  far.replace(kTable + 40, 5, "/9999");
  EXPECT_THAT(message_of(far), HasSubstr("section name '/9999' lies past the end of the file"));
  std::string endless = fake_pe();
  endless.replace(0x3f0 + 4, 13, std::string(12, 'a') + "b");
  endless.resize(0x3f0 + 4 + 13);
  EXPECT_THAT(message_of(endless), HasSubstr("its string table has no end"));
}

// 0xffff + 0xffff folds to 0xffff; the checksum field is skipped; the odd
// last byte is a word 0x0001: 0x10000 folds to 1; plus the length 9. (The
// sum is the one objcopy 2.40 wrote into a UKI it made, checked by hand.)
TEST(PeChecksum, FoldsCarriesSkipsTheFieldAndAddsTheLength) {
  EXPECT_EQ(pe_checksum(std::string("\xff\xff\xff\xff" "ABCD" "\x01", 9), 4), 10u);
  EXPECT_EQ(pe_checksum(std::string("\xff\xff\xff\xff" "\0\0\0\0" "\x01", 9), 4), 10u);
  EXPECT_EQ(pe_checksum(std::string("\x02\x01", 2), 100), 0x0102u + 2);
}

TEST(PeTimestamp, IsSetAndASetChecksumFollowsIt) {
  std::string bytes = fake_pe();
  constexpr std::size_t kChecksum = kCoff + 20 + 64;
  set_pe_timestamp(bytes, 0x6553f100, "x.efi");
  EXPECT_EQ(bytes.substr(kCoff + 4, 4), std::string("\x00\xf1\x53\x65", 4));
  EXPECT_EQ(bytes.substr(kChecksum, 4), std::string(4, '\0')) << "an unset checksum stays unset";
  put_le(bytes, kChecksum, 1, 4);
  set_pe_timestamp(bytes, 0x6553f101, "x.efi");
  std::uint32_t stored = 0;
  for (int i = 3; i >= 0; --i) stored = (stored << 8) | static_cast<unsigned char>(bytes[kChecksum + static_cast<std::size_t>(i)]);
  EXPECT_EQ(stored, pe_checksum(bytes, kChecksum));
  EXPECT_NE(stored, 1u);
  std::string elf = "ELF";
  EXPECT_THROW(set_pe_timestamp(elf, 1, "x.efi"), Error);
}

TEST(PeImage, SectionDataPastTheEndIsRefused) {
  std::string bytes = fake_pe();
  put_le(bytes, kTable + 40 + 16, 0x200, 4);  // 0x300 + 0x200 > 0x400
  const PeImage image = read_pe_image(bytes, "x.efi");
  try {
    section_data(bytes, *image.find(".vendor_cert"), "x.efi");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("Failed to read x.efi: section .vendor_cert lies past the end of the file"));
  }
}

}  // namespace
}  // namespace base
