// rpm headers and SQLite databases as an image may hold them: real ones made
// by the host's rpm, and hostile ones whose counts and offsets lie.
#include "stages/inspector/rpmdb.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "stages/inspector/test_rpmdb.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::inspector {
namespace {

void put32(std::string& out, std::uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

struct Entry {
  std::uint32_t tag, type, offset, count;
};

std::string header(const std::vector<Entry>& entries, const std::string& data) {
  std::string out;
  put32(out, static_cast<std::uint32_t>(entries.size()));
  put32(out, static_cast<std::uint32_t>(data.size()));
  for (const Entry& e : entries) {
    for (std::uint32_t v : {e.tag, e.type, e.offset, e.count}) put32(out, v);
  }
  return out + data;
}

std::string error_of(std::string_view blob) {
  try {
    parse_rpm_header_blob(blob, "'db'");
  } catch (const base::Error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kData = std::string("bash\0" "5.2.15\0" "3.azl3\0" "x86_64\0", 26) + std::string("\0\0\0\x02", 4);

TEST(RpmHeader, ReadsNameEpochVersionReleaseAndArch) {
  const RpmHeaderFields h = parse_rpm_header_blob(
      header({{63, 7, 0, 16}, {1000, 6, 0, 1}, {1001, 6, 5, 1}, {1002, 6, 12, 1}, {1022, 6, 19, 1}, {1003, 4, 26, 1}},
             kData),
      "'db'");
  EXPECT_EQ(h.name, "bash");
  EXPECT_EQ(h.version, "5.2.15");
  EXPECT_EQ(h.release, "3.azl3");
  EXPECT_EQ(h.arch, "x86_64");
  EXPECT_EQ(h.epoch, 2u);
}

TEST(RpmHeader, LyingCountsAndOffsetsAreErrorsNamingTheDatabase) {
  const struct {
    std::string blob;
    const char* error;
  } cases[] = {
      {std::string("\0\0\0\x01", 4), "a header is shorter than its counts"},
      {header({}, kData), "a header's counts are out of range"},
      {header({{1000, 6, 0, 1}}, kData).substr(0, 30), "a header is shorter than its counts say"},
      {header({{1000, 6, 4000, 1}}, kData), "a header string lies outside its data"},
      {header({{1000, 6, 0, 1}}, "bash"), "a header string has no end"},
      {header({{1000, 6, 0, 1}, {1003, 4, 28, 1}}, kData), "a header's EPOCH lies outside its data"},
      {header({{1001, 6, 5, 1}}, kData), "a header has no NAME"},
  };
  for (const auto& c : cases) {
    const std::string error = error_of(c.blob);
    EXPECT_NE(error.find("Failed to read the rpm database 'db': " + std::string(c.error)), std::string::npos) << error;
  }
  std::string huge;
  put32(huge, 0x10000);
  put32(huge, 0);
  EXPECT_NE(error_of(huge).find("counts are out of range"), std::string::npos);
}

TEST(RpmDatabase, ANonSqliteFileOrACorruptOneIsAnError) {
  for (const std::string& bytes : {std::string("not a database"), std::string("SQLite format 3\0garbage", 23)}) {
    try {
      read_rpmdb_sqlite(bytes, "'rpmdb.sqlite'");
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_NE(std::string(e.what()).find("Failed to read the rpm database 'rpmdb.sqlite': "), std::string::npos)
          << e.what();
    }
  }
}

// A database the host's rpm made, with one package installed into it.
TEST(RpmDatabase, ListsWhatRpmInstalledIntoARealDatabase) {
  tests::TempDir dir("oic-rpmdb");
  const std::vector<Package> packages = read_rpmdb_sqlite(testing::make_probe_rpmdb(dir.path()), "'rpmdb.sqlite'");
  EXPECT_EQ(packages, (std::vector<Package>{{"oic-probe", "2:1.5-3", "noarch"}}));
}

}  // namespace
}  // namespace stage::inspector
