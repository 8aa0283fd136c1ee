// Which kind of file `boot` was given, from its bytes, and the kernel check.
#include "supervisor/vm/media_kind.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {
namespace fs = std::filesystem;
using namespace std::string_literals;
using TempDir = ::tests::TempDir;

std::string bytes_with(const std::string& magic, std::size_t offset = 0, std::size_t size = kMediaHeadBytes) {
  std::string bytes(size, '\0');
  bytes.replace(offset, magic.size(), magic);
  return bytes;
}

TEST(ProbeMedia, TellsIsoInitrdAndDiskApartByTheirBytes) {
  struct Case {
    const char* name;
    std::string head;
    MediaKind kind;
    std::string_view compression;
  };
  // A hybrid ISO starts with an MBR like a disk; its volume descriptor decides.
  std::string hybrid_iso = bytes_with("CD001", 0x8001);
  hybrid_iso.replace(0x1fe, 2, "\x55\xaa");
  const Case cases[] = {
      {"iso 9660", bytes_with("CD001", 0x8001), MediaKind::kIso, "none"},
      {"hybrid iso", hybrid_iso, MediaKind::kIso, "none"},
      {"newc cpio", bytes_with("070701"), MediaKind::kInitrd, "none"},
      {"newc cpio with crc", bytes_with("070702"), MediaKind::kInitrd, "none"},
      {"odc cpio", bytes_with("070707"), MediaKind::kInitrd, "none"},
      {"binary cpio", bytes_with("\xc7\x71"), MediaKind::kInitrd, "none"},
      {"gzip", bytes_with("\x1f\x8b\x08"), MediaKind::kInitrd, "gzip"},
      {"zstd", bytes_with("\x28\xb5\x2f\xfd"), MediaKind::kInitrd, "zstd"},
      {"xz", bytes_with("\xfd" "7zXZ\0"s), MediaKind::kInitrd, "xz"},
      {"lz4", bytes_with("\x02\x21\x4c\x18"), MediaKind::kInitrd, "lz4"},
      {"bzip2", bytes_with("BZh9"), MediaKind::kInitrd, "bzip2"},
      {"lzma", bytes_with("\x5d\0\0"s), MediaKind::kInitrd, "lzma"},
      {"gpt disk", bytes_with("EFI PART", 512), MediaKind::kDisk, "none"},
      {"qcow2", bytes_with("QFI\xfb"), MediaKind::kDisk, "none"},
      {"zeros", bytes_with(""), MediaKind::kDisk, "none"},
      {"short file", "0707", MediaKind::kDisk, "none"},
      {"CD001 elsewhere", bytes_with("CD001", 0x8000), MediaKind::kDisk, "none"},
      {"iso cut short", std::string(0x8003, '\0') + "CD", MediaKind::kDisk, "none"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const MediaProbe probe = probe_media(c.head);
    EXPECT_EQ(to_string(probe.kind), to_string(c.kind));
    EXPECT_EQ(probe.compression, c.compression);
  }
}

TEST(DetectMedia, ReadsFarEnoughForTheIsoDescriptorAndIgnoresTheName) {
  TempDir dir;
  EXPECT_EQ(detect_media(dir.write("live.img", bytes_with("CD001", 0x8001, 0x9000))).kind, MediaKind::kIso);
  EXPECT_EQ(detect_media(dir.write("disk.iso", std::string(0x9000, '\0'))).kind, MediaKind::kDisk);
  EXPECT_EQ(detect_media(dir.write("x.img", bytes_with("070701", 0, 200))).kind, MediaKind::kInitrd);
}

void expect_invalid(const fs::path& file, const std::string& part, void (*call)(const fs::path&)) {
  try {
    call(file);
    ADD_FAILURE() << "no error for " << file;
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput) << e.what();
    EXPECT_NE(e.message().find(part), std::string::npos) << e.what();
    EXPECT_NE(e.message().find(file.filename().string()), std::string::npos) << e.what();
  }
}

TEST(DetectMedia, RejectsMissingEmptyAndDirectoriesNamingTheFile) {
  TempDir dir;
  fs::create_directory(dir.path() / "folder");
  auto detect = [](const fs::path& f) { detect_media(f); };
  expect_invalid(dir.path() / "absent.iso", "Failed to open image", detect);
  expect_invalid(dir.write("empty.img", ""), "the file is empty", detect);
  expect_invalid(dir.path() / "folder", "not a regular file", detect);
}

TEST(RequireLinuxKernel, AcceptsABzImageHeaderOnly) {
  TempDir dir;
  EXPECT_NO_THROW(require_linux_kernel(dir.write("vmlinuz", bytes_with("HdrS", 0x202, 4096))));
  auto check = [](const fs::path& f) { require_linux_kernel(f); };
  expect_invalid(dir.write("initrd.img", bytes_with("070701", 0, 4096)), "not an x86 Linux kernel", check);
  expect_invalid(dir.write("tiny", "MZ"), "not an x86 Linux kernel", check);
  expect_invalid(dir.path() / "vmlinuz-missing", "Failed to open kernel", check);
}

}  // namespace
}  // namespace supervisor
