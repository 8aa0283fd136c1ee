#include "supervisor/cache/private_dir.hpp"
#include "tests/support/temp_dir.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(PrivateDir, CreatesTheDirectoryAndItsParentsWithMode0700) {
  tests::TempDir temp;
  const fs::path dir = temp.path() / "a/b/cache";
  EXPECT_FALSE(make_private_dir(dir).has_value());
  EXPECT_EQ(mode_of(dir), 0700u);
}

TEST(PrivateDir, CreatesANewDirectoryWithTheAllowedModeWhateverTheUmask) {
  tests::TempDir temp;
  const fs::path dir = temp.path() / "packages";
  const mode_t old = ::umask(077);
  EXPECT_FALSE(make_private_dir(dir, 0711).has_value());
  ::umask(old);
  EXPECT_EQ(mode_of(dir), 0711u) << "a root caller's stages pass through it";
}

TEST(PrivateDir, TightensAnExistingOpenDirectoryWithAWarning) {
  tests::TempDir temp;
  const fs::path dir = temp.path() / "cache";
  fs::create_directory(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  const std::optional<std::string> warning = make_private_dir(dir);
  ASSERT_TRUE(warning.has_value());
  EXPECT_NE(warning->find(dir.string()), std::string::npos) << *warning;
  EXPECT_NE(warning->find("0755"), std::string::npos) << *warning;
  EXPECT_EQ(mode_of(dir), 0700u);
}

TEST(PrivateDir, KeepsTheBitsTheCallerAllows) {
  tests::TempDir temp;
  const fs::path dir = temp.path() / "packages";
  fs::create_directory(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0711), 0);
  EXPECT_FALSE(make_private_dir(dir, 0711).has_value());
  EXPECT_EQ(mode_of(dir), 0711u);
  ASSERT_EQ(::chmod(dir.c_str(), 0775), 0);
  EXPECT_TRUE(make_private_dir(dir, 0711).has_value());
  EXPECT_EQ(mode_of(dir), 0711u);
}

TEST(PrivateDir, RefusesAFile) {
  tests::TempDir temp;
  const fs::path file = temp.write("cache", "not a directory");
  EXPECT_THROW(make_private_dir(file), base::Error);
}

}  // namespace
}  // namespace supervisor
