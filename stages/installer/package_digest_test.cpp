#include "stages/installer/package_digest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::installer {
namespace {

// sha256("hello\n").
constexpr const char* kHello = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

base::UniqueFd open_with(const tests::TempDir& dir, const std::string& content) {
  return base::UniqueFd(::open(dir.write("pkg.deb", content).c_str(), O_RDONLY | O_CLOEXEC));
}

TEST(PackageDigest, AcceptsThePackageTheLockfileNamesAndLeavesTheOffset) {
  tests::TempDir dir;
  const base::UniqueFd fd = open_with(dir, "hello\n");
  ASSERT_EQ(::lseek(fd.get(), 2, SEEK_SET), 2);
  EXPECT_NO_THROW(require_package_sha256(fd.get(), "hello", kHello));
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_CUR), 2);
}

TEST(PackageDigest, RefusesAnotherContentNamingThePackage) {
  tests::TempDir dir;
  const base::UniqueFd fd = open_with(dir, "hellO\n");
  try {
    require_package_sha256(fd.get(), "libc6", kHello);
    FAIL() << "a package with another hash was accepted";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find("package 'libc6'"), std::string::npos) << e.what();
    EXPECT_NE(e.message().find(std::string("the lockfile says ") + kHello), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stage::installer
