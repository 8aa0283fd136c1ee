#include "base/dir_entries.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace base {
namespace {

namespace fs = std::filesystem;

TEST(DirEntries, ListsEveryNameSortedAndLeavesTheFdWhereItWas) {
  std::string tmpl = (fs::temp_directory_path() / "dir-entries-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  std::ofstream(dir / "b") << "b";
  fs::create_directory(dir / "a");
  fs::create_symlink("nowhere", dir / "c");
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(sorted_entry_names(fd.get(), dir.string()), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(sorted_entry_names(fd.get(), dir.string()), (std::vector<std::string>{"a", "b", "c"})) << "read twice";
  fs::remove_all(dir);
}

TEST(DirEntries, AFileIsNotADirectoryAndIsNamed) {
  UniqueFd fd(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  try {
    sorted_entry_names(fd.get(), "/proc/self/status");
    ADD_FAILURE() << "a file was listed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/self/status"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace base
