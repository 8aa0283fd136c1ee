#include "base/error.hpp"

#include <gtest/gtest.h>

namespace base {
namespace {

TEST(Error, CarriesContextInnermostFirst) {
  try {
    ErrorContext outer("building", "image");
    ErrorContext inner("installing", "bash");
    require(false, "bad package");
    FAIL() << "require did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    ASSERT_EQ(e.context().size(), 2u);
    EXPECT_EQ(e.context()[0], "installing bash");
    EXPECT_EQ(e.context()[1], "building image");
    EXPECT_STREQ(e.what(), "bad package\n  while installing bash\n  while building image");
  }
}

TEST(Error, ContextEndsWithItsScope) {
  { ErrorContext gone("reading", "x"); }
  Error e(ErrorKind::kFailed, "m");
  EXPECT_TRUE(e.context().empty());
}

TEST(Error, CheckSyscallNamesOperationObjectAndErrno) {
  errno = ENOENT;
  try {
    check_syscall(-1, "open", "/nonexistent");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.errno_value(), ENOENT);
    EXPECT_EQ(e.message(), "Failed to open '/nonexistent': No such file or directory");
  }
  EXPECT_EQ(check_syscall(3, "open"), 3);
}

TEST(Error, HintAndStageAppearInWhat) {
  Error e(ErrorKind::kFailed, "no subordinate uid range");
  e.with_hint("add a line to /etc/subuid").with_stage("installer");
  EXPECT_STREQ(e.what(), "stage 'installer': no subordinate uid range\nHint: add a line to /etc/subuid");
}

}  // namespace
}  // namespace base
