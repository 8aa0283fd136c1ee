#include "base/file_write.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace base {
namespace {

namespace fs = std::filesystem;

class FileWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "oic-file-write-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    dir_fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir_fd_.valid());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  fs::path dir_;
  base::UniqueFd dir_fd_;
};

TEST_F(FileWrite, WriteAllSendsEveryByteThroughAPipe) {
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  base::UniqueFd read_end(ends[0]);
  base::UniqueFd write_end(ends[1]);
  std::string data(1 << 20, '\0');  // more than a pipe holds
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::string received;
  std::thread reader([&] {
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(read_end.get(), buffer, sizeof buffer)) > 0) received.append(buffer, static_cast<std::size_t>(n));
  });
  write_all(write_end.get(), data, "the pipe");
  write_end.reset();
  reader.join();
  EXPECT_EQ(received, data);
}

// A signal caught without SA_RESTART cuts a blocked write(2) short, or makes
// it fail with EINTR before any byte moved; write_all goes on either way.
TEST_F(FileWrite, WriteAllGoesOnAfterSignalsInterruptIt) {
  struct sigaction caught {}, old {};
  caught.sa_handler = [](int) {};
  ASSERT_EQ(::sigaction(SIGUSR1, &caught, &old), 0);
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  base::UniqueFd read_end(ends[0]);
  base::UniqueFd write_end(ends[1]);
  std::string data(4 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 13);
  std::atomic<bool> finished{false};
  std::string failure;
  std::thread writer([&] {
    try {
      write_all(write_end.get(), data, "the pipe");
    } catch (const base::Error& e) {
      failure = e.what();
    }
    write_end.reset();
    finished = true;
  });
  std::string received;
  std::vector<char> buffer(16 << 10);
  for (;;) {
    if (!finished) ::pthread_kill(writer.native_handle(), SIGUSR1);
    const ssize_t n = ::read(read_end.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GE(n, 0);
    if (n == 0) break;
    received.append(buffer.data(), static_cast<std::size_t>(n));
  }
  writer.join();
  ::sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(failure, "");
  EXPECT_TRUE(received == data) << "received " << received.size() << " of " << data.size() << " bytes";
}

TEST_F(FileWrite, WriteAllFailureNamesTheFileAndErrno) {
  const std::string name = "read-only";
  { std::ofstream(dir_ / name) << "x"; }
  base::UniqueFd fd(::openat(dir_fd_.get(), name.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  try {
    write_all(fd.get(), "data", "the shown name");
    FAIL() << "a write to a read-only fd succeeded";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.message().rfind("Failed to write 'the shown name'", 0), 0u) << e.message();
    EXPECT_EQ(e.errno_value(), EBADF);
  }
}

TEST_F(FileWrite, AtomicWriteReplacesTheFileWithItsModeAndLeavesNoTemporary) {
  { std::ofstream(dir_ / "sbom.json") << "old content, longer than the new one"; }
  write_file_atomically(dir_fd_.get(), "sbom.json", "{}\n", 0640);
  EXPECT_EQ(read("sbom.json"), "{}\n");
  EXPECT_EQ(fs::status(dir_ / "sbom.json").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_FALSE(fs::exists(dir_ / ".sbom.json.tmp"));
}

TEST_F(FileWrite, AtomicWriteThatCannotRenameLeavesTheTargetAsItWas) {
  // rename(2) of a file over a non-empty directory fails after the write.
  fs::create_directory(dir_ / "taken");
  { std::ofstream(dir_ / "taken" / "inside") << "kept"; }
  EXPECT_THROW(write_file_atomically(dir_fd_.get(), "taken", "new", 0644), base::Error);
  EXPECT_TRUE(fs::is_directory(dir_ / "taken"));
  EXPECT_EQ(read("taken/inside"), "kept");
}

TEST_F(FileWrite, ReplacingWriteReplacesTheFileWithItsModeAndLeavesNoTemporary) {
  { std::ofstream(dir_ / "record") << "old content, longer than the new one"; }
  write_file_replacing((dir_ / "record").string(), "new\n", 0644);
  EXPECT_EQ(read("record"), "new\n");
  EXPECT_EQ(fs::status(dir_ / "record").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(FileWrite, ReplacingWriteThatCannotRenameRemovesItsTemporary) {
  fs::create_directory(dir_ / "taken");
  { std::ofstream(dir_ / "taken" / "inside") << "kept"; }
  EXPECT_THROW(write_file_replacing((dir_ / "taken").string(), "new", 0644), base::Error);
  EXPECT_EQ(read("taken/inside"), "kept");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1) << "a temporary was left";
}

TEST_F(FileWrite, MakeDirectoriesMakesEveryLevelAndNamesTheDirectoryWhenItCannot) {
  make_directories(dir_ / "a/b/c");
  EXPECT_TRUE(fs::is_directory(dir_ / "a/b/c"));
  make_directories(dir_ / "a/b/c");  // already there: nothing to do
  std::ofstream(dir_ / "file") << "x";
  try {
    make_directories(dir_ / "file/sub");
    ADD_FAILURE() << "a directory was made under a regular file";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "Failed to create directory '" + (dir_ / "file/sub").string() + "': Not a directory");
  }
}

}  // namespace
}  // namespace base
