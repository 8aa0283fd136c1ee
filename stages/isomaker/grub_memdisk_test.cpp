#include "stages/isomaker/grub_memdisk.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace stage::isomaker {
namespace {

namespace fs = std::filesystem;

struct Member {
  std::string name;
  mode_t mode;
  std::int64_t mtime;
  std::int64_t uid;
  std::string data;
};

std::vector<Member> read_tar(const std::string& path) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 10240), ARCHIVE_OK) << archive_error_string(a);
  std::vector<Member> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Member m{archive_entry_pathname(e), archive_entry_mode(e), archive_entry_mtime(e), archive_entry_uid(e), ""};
    char buffer[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buffer, sizeof buffer)) > 0;) m.data.append(buffer, n);
    out.push_back(m);
  }
  archive_read_free(a);
  return out;
}

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class GrubMemdisk : public ::testing::Test {
 protected:
  tests::TempDir scratch_{"oic-memdisk"};
  const fs::path& dir_ = scratch_.path();
};

// GRUB's tar reader finds boot/grub/grub.cfg below its directories; owner
// and time are fixed, so the signed GRUB is the same for the same menu.
TEST_F(GrubMemdisk, HoldsTheMenuAsBootGrubGrubCfgWithFixedOwnerAndTime) {
  const std::string cfg = "search --no-floppy --set=root --file /images/vmlinuz\nmenuentry 'x' {\n  linux /v\n}\n";
  write_menu_memdisk((dir_ / "a.tar").string(), cfg);
  const auto members = read_tar((dir_ / "a.tar").string());
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].name, "boot/");
  EXPECT_TRUE(S_ISDIR(members[0].mode));
  EXPECT_EQ(members[1].name, "boot/grub/");
  EXPECT_EQ(members[2].name, "boot/grub/grub.cfg");
  EXPECT_TRUE(S_ISREG(members[2].mode));
  EXPECT_EQ(members[2].mode & 07777, 0644u);
  EXPECT_EQ(members[2].data, cfg);
  for (const Member& m : members) {
    EXPECT_EQ(m.mtime, 0) << m.name;
    EXPECT_EQ(m.uid, 0) << m.name;
  }
  ::sleep(1);
  write_menu_memdisk((dir_ / "b.tar").string(), cfg);
  EXPECT_EQ(bytes_of(dir_ / "a.tar"), bytes_of(dir_ / "b.tar"));
}

TEST_F(GrubMemdisk, AnUnwritablePathIsAnErrorNamingIt) {
  try {
    write_menu_memdisk((dir_ / "missing/a.tar").string(), "x");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("missing/a.tar"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stage::isomaker
