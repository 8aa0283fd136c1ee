// check_target_disk on a real block device (a loop device): root only.
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/error.hpp"
#include "live/command.hpp"
#include "live/disk_check.hpp"
#include "tests/support/temp_dir.hpp"

namespace live {
namespace {

struct LoopDisk {
  tests::TempDir dir{"oic-live-loop"};
  std::string device;
  explicit LoopDisk(std::uintmax_t size) {
    const auto file = dir.write("disk.img", "");
    std::filesystem::resize_file(file, size);
    const auto attached = run_command({"losetup", "--find", "--show", file.string()});
    if (attached.exit_code != 0) throw std::runtime_error("losetup: " + attached.output);
    device = attached.output.substr(0, attached.output.find('\n'));
  }
  ~LoopDisk() { run_command({"losetup", "-d", device}); }
  std::string name() const { return std::filesystem::path(device).filename().string(); }
};

std::string refusal(const std::string& device, std::uint64_t raw_size, const std::optional<std::string>& medium) {
  try {
    check_target_disk(device, raw_size, medium, "/sys");
  } catch (const base::Error& error) {
    return error.message();
  }
  return "(accepted)";
}

TEST(LiveDiskCheckRoot, MeasuresARealDisk) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (loop devices)";
  LoopDisk disk(1 << 20);
  const DiskFacts facts = probe_disk(disk.device, "/sys");
  EXPECT_TRUE(facts.is_block);
  EXPECT_FALSE(facts.is_partition);
  EXPECT_EQ(facts.size, 1u << 20);
  EXPECT_EQ(facts.disk_name, disk.name());
  EXPECT_EQ(refusal(disk.device, 1 << 20, std::nullopt), "(accepted)");
}

TEST(LiveDiskCheckRoot, RefusesARealDiskTooSmallOrHoldingTheMedium) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (loop devices)";
  LoopDisk disk(1 << 20);
  EXPECT_EQ(refusal(disk.device, 4 << 20, std::nullopt),
            "disk " + disk.device + " has 1048576 bytes (1.0 MiB); the image needs 4194304 (4.0 MiB)");
  EXPECT_EQ(refusal(disk.device, 1 << 20, disk.name()), "disk " + disk.device + " holds the install medium");
}

}  // namespace
}  // namespace live
