#include "live/install_lock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "tests/support/temp_dir.hpp"

namespace live {
namespace {

TEST(LiveInstallLock, ASecondInstanceWaitsAndSaysSo) {
  tests::TempDir run;
  std::ostringstream first_out, second_out;
  base::UniqueFd first = take_install_lock(run.path(), first_out);
  EXPECT_EQ(first_out.str(), "");
  std::atomic<bool> second_has_it = false;
  std::thread second([&] {
    base::UniqueFd lock = take_install_lock(run.path(), second_out);
    second_has_it = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(second_has_it);
  first.reset();
  second.join();
  EXPECT_TRUE(second_has_it);
  EXPECT_EQ(second_out.str(), "live-installer: an installation is running on another console; waiting for it\n");
}

TEST(LiveInstallLock, KeepsTheRecordedOutcome) {
  tests::TempDir run;
  EXPECT_FALSE(recorded_outcome(run.path()));
  record_outcome(run.path(), "live-installer: installation complete");
  EXPECT_EQ(recorded_outcome(run.path()).value_or(""), "live-installer: installation complete");
}

}  // namespace
}  // namespace live
