// apply_settings on a real mounted file system: root only (mount, a loop device).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>

#include "base/error.hpp"
#include "live/command.hpp"
#include "live/target_setup.hpp"
#include "tests/support/temp_dir.hpp"

namespace live {
namespace {

namespace fs = std::filesystem;

// An ext4 file system holding /etc/hosts, on a loop device for the test's life.
struct LoopFilesystem {
  tests::TempDir dir{"oic-live-root"};
  std::string device;

  LoopFilesystem() {
    const auto tree = dir.write("tree/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tdebian12\n");
    const auto image = dir.write("root.ext4", "");
    fs::resize_file(image, 16 << 20);
    const auto made = run_command({"mkfs.ext4", "-q", "-d", (dir.path() / "tree").string(), image.string()});
    if (made.exit_code != 0) throw std::runtime_error("mkfs.ext4: " + made.output);
    const auto attached = run_command({"losetup", "--find", "--show", image.string()});
    if (attached.exit_code != 0) throw std::runtime_error("losetup: " + attached.output);
    device = attached.output.substr(0, attached.output.find('\n'));
  }
  ~LoopFilesystem() { run_command({"losetup", "-d", device}); }

  // What the file system holds at `path`, read through a fresh mount.
  std::string read(const std::string& path) const {
    const fs::path at = dir.path() / "check";
    fs::create_directories(at);
    if (::mount(device.c_str(), at.c_str(), "ext4", MS_RDONLY, nullptr) != 0) return "(mount failed)";
    std::string text;
    {
      std::ifstream in(at / path);
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    ::umount(at.c_str());  // the file closed first, or the unmount is refused
    return text;
  }
};

bool is_mounted(const fs::path& path) {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, point, rest;
  while (mounts >> device >> point && std::getline(mounts, rest)) {
    if (point == path.string()) return true;
  }
  return false;
}

TEST(LiveTargetSetupRoot, WritesTheHostNameIntoTheInstalledFileSystem) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount, loop devices)";
  LoopFilesystem root;
  const fs::path target = root.dir.path() / "target";
  apply_settings(root.device, "ext4", target, {.hostname = "node-3", .user = "", .password = ""});
  EXPECT_FALSE(is_mounted(target));
  EXPECT_EQ(root.read("etc/hostname"), "node-3\n");
  EXPECT_EQ(root.read("etc/hosts"), "127.0.0.1\tlocalhost\n127.0.1.1\tnode-3\n");
}

TEST(LiveTargetSetupRoot, UnmountsWhenTheInstalledSystemCannotCreateTheUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount, loop devices)";
  LoopFilesystem root;  // no useradd in it
  const fs::path target = root.dir.path() / "target";
  try {
    apply_settings(root.device, "ext4", target, {.hostname = "", .user = "alice", .password = "pw"});
    FAIL() << "created a user without useradd";
  } catch (const base::Error& error) {
    EXPECT_NE(error.message().find("'useradd -m alice' in the installed system failed (exit code 127)"),
              std::string::npos) << error.message();
  }
  EXPECT_FALSE(is_mounted(target));
}

}  // namespace
}  // namespace live
