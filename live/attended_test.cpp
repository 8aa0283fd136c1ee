#include "live/attended.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "base/error.hpp"

namespace live {
namespace {

struct Session {
  std::istringstream in;
  std::ostringstream out;
  Console console{in, out, false};
  explicit Session(const std::string& typed) : in(typed) {}
};

Manifest manifest() {
  Manifest m;
  m.image.path = "/cdrom/images/x-1.0.raw.gz";
  m.image.raw_size = std::uint64_t{4} << 30;
  m.hostname = "debian12";
  return m;
}

const std::vector<DiskEntry> kDisks = {{"sda", std::uint64_t{2} << 30, "SMALL"}, {"vda", std::uint64_t{20} << 30, "QEMU HARDDISK"}};

TEST(LiveAttended, AsksEachChoiceAndConfirms) {
  Session s("2\nhost-1\nalice\nsecret\nsecret\nyes\n");
  const AttendedChoices c = ask_choices(s.console, kDisks, manifest());
  EXPECT_EQ(c.disk, "/dev/vda");
  EXPECT_EQ(c.settings.hostname, "host-1");
  EXPECT_EQ(c.settings.user, "alice");
  EXPECT_EQ(c.settings.password, "secret");
  EXPECT_NE(s.out.str().find("2) vda  20.0 GiB  QEMU HARDDISK"), std::string::npos) << s.out.str();
  EXPECT_NE(s.out.str().find("1) sda  2.0 GiB  SMALL  (too small)"), std::string::npos);
  EXPECT_NE(s.out.str().find("disk:      /dev/vda  (everything on it is erased)"), std::string::npos);
}

TEST(LiveAttended, AsksAgainAfterAnAnswerItCannotUse) {
  Session s("sdz\nsda\n/dev/vda\nbad_host!\n\nBad User\n\nyes\n");
  const AttendedChoices c = ask_choices(s.console, kDisks, manifest());
  EXPECT_EQ(c.disk, "/dev/vda");
  EXPECT_EQ(c.settings.hostname, "debian12");  // the manifest's, taken by an empty answer
  EXPECT_EQ(c.settings.user, "");
  const std::string shown = s.out.str();
  EXPECT_NE(shown.find("No disk 'sdz' in the list."), std::string::npos);
  EXPECT_NE(shown.find("sda is smaller than the image (4.0 GiB)."), std::string::npos);
  EXPECT_NE(shown.find("host name 'bad_host!' is not valid"), std::string::npos);
  EXPECT_NE(shown.find("user name 'Bad User' is not valid"), std::string::npos);
}

TEST(LiveAttended, AsksForThePasswordAgainWhenTheTwoDiffer) {
  Session s("vda\n\nbob\none\ntwo\nthree\nthree\nyes\n");
  EXPECT_EQ(ask_choices(s.console, kDisks, manifest()).settings.password, "three");
  EXPECT_NE(s.out.str().find("The passwords differ."), std::string::npos);
}

std::string refusal(const std::string& typed, const std::vector<DiskEntry>& disks = kDisks) {
  Session s(typed);
  try {
    ask_choices(s.console, disks, manifest());
  } catch (const base::Error& error) {
    return error.message();
  }
  return "(accepted)";
}

TEST(LiveAttended, InstallsNothingWithoutATypedYes) {
  EXPECT_EQ(refusal("vda\n\n\ny\n"), "installation cancelled at the console (answer 'y', not 'yes')");
  EXPECT_EQ(refusal("vda\n\n\n"), "the console closed before an answer");
  EXPECT_EQ(refusal("", {}), "no disk to install on: /sys/block lists none besides the install medium");
}

}  // namespace
}  // namespace live
