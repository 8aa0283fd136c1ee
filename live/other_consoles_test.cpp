#include "live/other_consoles.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/run_program.hpp"
#include "tests/support/temp_dir.hpp"

namespace live {
namespace {

namespace fs = std::filesystem;

// A sysfs and a /dev as a live environment booted with console=ttyS0
// console=tty0 has them, tty1 in the foreground; the consoles are plain files.
struct Consoles {
  tests::TempDir dir{"oic-live-consoles"};
  fs::path sys = dir.path() / "sys";
  fs::path dev = dir.path() / "dev";
  explicit Consoles(const std::string& active) {
    dir.write("sys/class/tty/console/active", active);
    dir.write("sys/class/tty/tty0/active", "tty1\n");
    for (const char* name : {"tty1", "ttyS0", "ttyS1"}) dir.write(std::string("dev/") + name, "");
  }
};

TEST(LiveOtherConsoles, ResolvesTheForegroundTerminalAndDropsRepeats) {
  Consoles consoles("ttyS0 tty0 tty1\n");
  EXPECT_EQ(active_consoles(consoles.sys), (std::vector<std::string>{"ttyS0", "tty1"}));
}

TEST(LiveOtherConsoles, NoListMeansNoConsoles) {
  tests::TempDir empty{"oic-live-consoles"};
  EXPECT_TRUE(active_consoles(empty.path() / "sys").empty());
}

TEST(LiveOtherConsoles, RefusesNamesThatAreNotDevices) {
  Consoles consoles("../escape ttyS0 .. a/b\n");
  EXPECT_EQ(active_consoles(consoles.sys), (std::vector<std::string>{"ttyS0"}));
}

// The instance on tty1 installed: the serial line, which a harness reads,
// gets the outcome; tty1 (its own terminal) does not get it twice.
TEST(LiveOtherConsoles, TheOutcomeGoesOntoEveryConsoleButTheOwnOne) {
  Consoles consoles("ttyS0 tty0\n");
  tell_other_consoles("live-installer: installation complete", consoles.sys, consoles.dev, "tty1");
  EXPECT_EQ(tests::support::read_whole_file(consoles.dev / "ttyS0"), "live-installer: installation complete\n");
  EXPECT_EQ(tests::support::read_whole_file(consoles.dev / "tty1"), "");
  EXPECT_EQ(tests::support::read_whole_file(consoles.dev / "ttyS1"), "");  // not an active console
}

TEST(LiveOtherConsoles, AMissingConsoleDeviceIsLeftOut) {
  Consoles consoles("ttyS9 ttyS0\n");
  tell_other_consoles("line", consoles.sys, consoles.dev, "");
  EXPECT_FALSE(fs::exists(consoles.dev / "ttyS9"));  // opened, never created
  EXPECT_EQ(tests::support::read_whole_file(consoles.dev / "ttyS0"), "line\n");
}

TEST(LiveOtherConsoles, ATerminalNameIsEmptyForAFileDescriptorThatIsNone) {
  tests::TempDir dir{"oic-live-consoles"};
  const fs::path file = dir.write("plain", "");
  std::FILE* f = std::fopen(file.c_str(), "r");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(terminal_name(::fileno(f)), "");
  std::fclose(f);
}

}  // namespace
}  // namespace live
