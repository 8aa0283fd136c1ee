#include "config/size.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace config {
namespace {

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = kKiB * 1024;
constexpr std::uint64_t kGiB = kMiB * 1024;

struct Good {
  const char* text;
  std::uint64_t bytes;
};

TEST(SizeParser, AcceptsEveryDocumentedForm) {
  const Good cases[] = {
      {"4GiB", 4 * kGiB},                    // binary suffix
      {"8GB", 8'000'000'000ULL},             // decimal suffix
      {"4096 MiB", 4096 * kMiB},             // space before the unit
      {"4G", 4 * kGiB},                      // one-letter suffixes are binary
      {"512K", 512 * kKiB},
      {"1MiB", kMiB},
      {"2TiB", 2 * kGiB * 1024},
      {"3TB", 3'000'000'000'000ULL},
      {"500", 500 * kMiB},                   // a bare number is MiB
      {"0", 0},                              // rest of the disk
      {"1.5GiB", kGiB + kGiB / 2},           // exact fractions
      {"100B", 100},
      {"7KB", 7000},
  };
  for (const Good& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_size(c.text), c.bytes);
  }
}

struct Bad {
  const char* text;
  const char* error;
};

TEST(SizeParser, RejectsMalformedSizesSayingWhy) {
  const Bad cases[] = {
      {"-1GiB", "negative"},                  // sizes are never negative
      {"4XB", "unknown unit \"XB\""},         // unknown unit
      {"4gib", "unknown unit"},               // units are case-sensitive
      {"1.5.2G", "unknown unit"},             // a fraction followed by garbage
      {"1.G", "decimal point"},               // a fraction without digits
      {"", "empty"},
      {"GiB", "no number"},
      {"99999999999999999999", "too large"},  // does not fit 64 bits
      {"16777216TiB", "too large"},           // overflows after the multiplier
      {"0.1B", "whole number of bytes"},
      {"4 GiB extra", "unknown unit"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      parse_size(c.text);
      ADD_FAILURE() << "accepted";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find(c.error), std::string::npos) << e.message();
      EXPECT_NE(e.message().find("expected"), std::string::npos) << e.message();
    }
  }
}

TEST(SizeParser, TryParseReportsInsteadOfThrowing) {
  const SizeResult r = try_parse_size("12QB");
  EXPECT_FALSE(r.bytes);
  EXPECT_NE(r.error.find("12QB"), std::string::npos);
}

}  // namespace
}  // namespace config
