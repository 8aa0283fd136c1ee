#include "sandbox/userns.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "base/error.hpp"

namespace sandbox {
namespace {

class SubidFile {
 public:
  explicit SubidFile(const std::string& text) {
    char name[] = "/tmp/oic-subid-XXXXXX";
    const int fd = mkstemp(name);
    if (fd >= 0) close(fd);
    path_ = name;
    std::ofstream(path_) << text;
  }
  ~SubidFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(SubordinateRange, FindsTheCallersEntry) {
  struct Case {
    const char* why;
    std::string text;
    std::optional<uint32_t> first;
  };
  const Case cases[] = {
      {"entry by name", "alice:100000:65536\n", 100000},
      {"entry by numeric uid", "1234:200000:65536\n", 200000},
      {"first of several entries wins", "alice:300000:10\nalice:400000:10\n", 300000},
      {"other users are ignored", "bob:100000:65536\n", std::nullopt},
      {"malformed lines are skipped", "alice:x:y\nalice:500000:5\n", 500000},
      {"empty file", "", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    SubidFile file(c.text);
    const auto range = find_subordinate_range(file.path(), "alice", 1234);
    ASSERT_EQ(range.has_value(), c.first.has_value());
    if (range) {
      EXPECT_EQ(range->first, *c.first);
    }
  }
}

TEST(IdMapPlan, MapsCallerToRootAndItsRangeAboveIt) {
  SubidFile file("alice:100000:65536\n");
  const IdMapPlan plan = plan_id_maps_for({1001, 1002, "alice"}, UserMapping::kSubordinateRange,
                                          file.path(), file.path());
  EXPECT_TRUE(plan.use_helpers);
  ASSERT_EQ(plan.uid.size(), 2u);
  EXPECT_EQ(plan.uid[0].inside, 0u);
  EXPECT_EQ(plan.uid[0].outside, 1001u);
  EXPECT_EQ(plan.uid[1].inside, 1u);
  EXPECT_EQ(plan.uid[1].outside, 100000u);
  EXPECT_EQ(plan.uid[1].count, 65536u);
  EXPECT_EQ(plan.gid[0].outside, 1002u);
}

TEST(IdMapPlan, CallerWithoutRangeIsToldHowToAddOne) {
  SubidFile file("bob:100000:65536\n");
  try {
    plan_id_maps_for({1001, 1001, "alice"}, UserMapping::kSubordinateRange, file.path(), file.path());
    FAIL() << "no error without a subordinate range";
  } catch (const base::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(what.find("subordinate uid range for user 'alice'"), std::string::npos) << what;
    EXPECT_NE(what.find("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 alice"),
              std::string::npos) << what;
    EXPECT_NE(what.find("alice:100000:65536"), std::string::npos) << what;
  }
}

TEST(IdMapPlan, SingleIdModeNeedsNoRangeAndDeniesSetgroups) {
  const IdMapPlan plan = plan_id_maps_for({1001, 1001, "alice"}, UserMapping::kSingleId,
                                          "/nonexistent", "/nonexistent");
  EXPECT_FALSE(plan.use_helpers);
  EXPECT_TRUE(plan.deny_setgroups);
  ASSERT_EQ(plan.uid.size(), 1u);
  EXPECT_EQ(plan.uid[0].count, 1u);
}

IdMapLine root_uid_map(const std::string& subid_text) {
  SubidFile file(subid_text);
  const IdMapPlan plan = plan_id_maps_for({0, 0, "root"}, UserMapping::kSubordinateRange, file.path(), file.path());
  EXPECT_FALSE(plan.use_helpers);
  EXPECT_TRUE(plan.become_mapped_root);
  EXPECT_EQ(plan.uid.size(), 1u);
  EXPECT_EQ(plan.gid.size(), 1u);
  return plan.uid.at(0);
}

TEST(IdMapPlan, RootGetsItsSubordinateRangeNeverItself) {
  struct Case {
    const char* why;
    std::string text;
    uint32_t outside;
    uint32_t count;
  };
  const Case cases[] = {
      {"entry by name", "oic:100000:65536\nroot:300000:65536\n", 300000, 65536},
      {"entry by numeric id", "0:400000:65536\n", 400000, 65536},
      {"a larger range is cut to 65536", "root:500000:1000000\n", 500000, 65536},
      {"a smaller range is used as it is", "root:600000:1000\n", 600000, 1000},
      {"no entry: the fixed fallback", "oic:100000:65536\n", kRootFallbackRange.first, 65536},
      {"no file: the fixed fallback", "", kRootFallbackRange.first, 65536},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    const IdMapLine line = root_uid_map(c.text);
    EXPECT_EQ(line.inside, 0u);
    EXPECT_EQ(line.outside, c.outside);
    EXPECT_EQ(line.count, c.count);
  }
}

TEST(IdMapPlan, RootFallbackRangeIsUnprivilegedAndBelowTwoToThe31) {
  EXPECT_GE(kRootFallbackRange.first, 1879048192u);  // above systemd's container ranges
  EXPECT_LE(uint64_t{kRootFallbackRange.first} + kRootFallbackRange.count, 2147352576u);  // below its foreign range
}

TEST(IdMapPlan, RootFallbackOverlappingAListedRangeIsRefused) {
  SubidFile file("alice:" + std::to_string(kRootFallbackRange.first + 100) + ":10\n");
  try {
    plan_id_maps_for({0, 0, "root"}, UserMapping::kSubordinateRange, file.path(), file.path());
    FAIL() << "the fallback range was used although alice owns part of it";
  } catch (const base::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(what.find("overlaps the entry of 'alice'"), std::string::npos) << what;
    EXPECT_NE(what.find("root:FIRST:65536"), std::string::npos) << what;
  }
}

TEST(IdMapPlan, RootRangeStartingAtHostRootIsRefused) {
  SubidFile file("root:0:65536\n");
  EXPECT_THROW(plan_id_maps_for({0, 0, "root"}, UserMapping::kSubordinateRange, file.path(), file.path()),
               base::Error);
}

}  // namespace
}  // namespace sandbox
