// grub-mkstandalone's memdisk: the tar headers inside an EFI binary get the
// build time; tar itself reads the result.
#include "stages/installer/grub_memdisk.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "stages/installer/test_files.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
using stage::installer::testing::spit;

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

// An "EFI binary": bytes, a ustar archive of two files made now (x.mod's
// mtime `back` earlier), more bytes.
std::string binary_with_tar(const fs::path& dir, std::chrono::hours back = std::chrono::hours(0)) {
  fs::create_directories(dir / "in/boot/grub");
  spit(dir / "in/boot/grub/grub.cfg", "set timeout=1\n");
  spit(dir / "in/boot/grub/x.mod", std::string(700, 'm'));
  fs::last_write_time(dir / "in/boot/grub/x.mod", fs::file_time_type::clock::now() - back);
  run("cd '" + (dir / "in").string() + "' && tar --format=ustar -cf '" + (dir / "a.tar").string() + "' boot");
  std::ifstream in(dir / "a.tar", std::ios::binary);
  const std::string tar((std::istreambuf_iterator<char>(in)), {});
  return std::string(1000, 'x') + "ustar but no header" + tar + std::string(300, 'y');
}

TEST(SetTarHeaderTimes, GivesEveryHeaderTheTimeWithAValidChecksum) {
  tests::TempDir tmp;
  std::string image = binary_with_tar(tmp.path());
  const std::size_t before = image.size();
  EXPECT_EQ(set_tar_header_times(image, 1600000000), 4u) << "boot/, boot/grub/ and two files";
  EXPECT_EQ(image.size(), before);
  // tar reads the archive back out of the bytes with the new times.
  const std::size_t start = 1000 + std::string("ustar but no header").size();
  spit(tmp.path() / "b.tar", image.substr(start, before - start - 300));
  const std::string listing = run("TZ=UTC tar --full-time -tvf '" + (tmp.path() / "b.tar").string() + "' 2>&1");
  EXPECT_THAT(listing, ::testing::HasSubstr("2020-09-13 12:26:40 boot/grub/grub.cfg"));
  EXPECT_THAT(listing, ::testing::HasSubstr("2020-09-13 12:26:40 boot/grub/x.mod"));
  EXPECT_THAT(listing, ::testing::Not(::testing::HasSubstr("checksum")));
}

TEST(SetTarHeaderTimes, TheSameArchiveMadeAtAnotherTimeGivesTheSameBytes) {
  tests::TempDir one, two;
  std::string first = binary_with_tar(one.path());
  // Another mtime on disk: the archives differ until the times are set.
  std::string second = binary_with_tar(two.path(), std::chrono::hours(5));
  ASSERT_TRUE(first != second);
  set_tar_header_times(first, 1600000000);
  set_tar_header_times(second, 1600000000);
  EXPECT_TRUE(first == second);
}

TEST(SetTarHeaderTimes, LeavesBytesWithoutAValidHeaderAlone) {
  std::string image = std::string(600, 'z') + "ustar" + std::string(600, 'z');
  const std::string copy = image;
  EXPECT_EQ(set_tar_header_times(image, 1600000000), 0u);
  EXPECT_EQ(image, copy);
  EXPECT_THROW(set_tar_header_times(image, -1), base::Error);
}

}  // namespace
}  // namespace stage::installer
