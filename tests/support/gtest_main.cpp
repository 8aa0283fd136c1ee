// The main of every GoogleTest binary of the project (gtest_dep): see
// gtest_run.hpp for its exit status.
#include "tests/support/gtest_run.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return tests::support::run_all_tests();
}
