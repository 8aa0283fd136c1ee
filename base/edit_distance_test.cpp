#include "base/edit_distance.hpp"

#include <gtest/gtest.h>

#include <array>

namespace base {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("workers", "workers"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("wrokers", "workers"), 2u);
}

TEST(NearestWord, SuggestsOnlyALikelyTypo) {
  constexpr std::array<std::string_view, 4> kKeys{"workers", "cache_dir", "work_dir", ""};
  EXPECT_EQ(nearest_word("wrokers", kKeys), "workers");
  EXPECT_EQ(nearest_word("cachedir", kKeys), "cache_dir");
  EXPECT_EQ(nearest_word("logging", kKeys), "");
  EXPECT_EQ(nearest_word("", kKeys), "");
}

}  // namespace
}  // namespace base
