#include "base/openat2.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdio.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace base {
namespace {

namespace fs = std::filesystem;

// A lookup through "../" inside RESOLVE_IN_ROOT while another thread keeps
// renaming: the kernel answers EAGAIN for some of the opens (the renames
// move its rename sequence count), and each must still succeed.
TEST(Openat2Retrying, OpensThroughDotDotWhileRenamesRace) {
  char tmpl[] = "/tmp/openat2_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path root = tmpl;
  fs::create_directories(root / "etc");
  fs::create_directories(root / "usr/lib");
  std::ofstream(root / "usr/lib/os-release") << "ID=test\n";
  fs::create_symlink("../usr/lib/os-release", root / "etc/os-release");
  std::ofstream(root / "a") << "x";

  std::atomic<bool> stop{false};
  std::thread renamer([&] {
    const std::string a = (root / "a").string(), b = (root / "b").string();
    while (!stop) {
      ::rename(a.c_str(), b.c_str());
      ::rename(b.c_str(), a.c_str());
    }
  });
  const int dir = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int failures = 0;
  std::string first_error;
  for (int i = 0; i < 100000; ++i) {
    const long fd = openat2_retrying(dir, "etc/os-release", how);
    if (fd < 0) {
      if (failures++ == 0) first_error = std::strerror(errno);
    } else {
      ::close(static_cast<int>(fd));
    }
  }
  stop = true;
  renamer.join();
  ::close(dir);
  fs::remove_all(root);
  EXPECT_EQ(failures, 0) << "first: " << first_error;
}

}  // namespace
}  // namespace base
