#include "stages/verifier/deb/deb822.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::verifier {
namespace {

TEST(Deb822, ParsesParagraphsFoldedFieldsAndCaseInsensitiveNames) {
  const auto ps = parse_deb822(
      "Package: a\nDescription: short\n long\n .\n more\n\n\nPackage: b\r\nversion: 2\n", "t");
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].get("Description"), "short\nlong\n\nmore");
  EXPECT_EQ(ps[1].get("Version"), "2");
  EXPECT_EQ(ps[1].get("Depends"), std::nullopt);
}

TEST(Deb822, RejectsMalformedInputNamingTheLine) {
  struct Case {
    const char* name;
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"continuation first", " x\n", "line 1: continuation"},
      {"no colon", "Package: a\nnonsense\n", "line 2: expected"},
      // A repeated field could hide a second SHA256 from one reader.
      {"duplicate field", "SHA256: a\nsha256: b\n", "duplicate field"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      parse_deb822(c.text, "Release");
      ADD_FAILURE() << "accepted";
    } catch (const base::Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr(c.expected));
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    }
  }
}

TEST(Rfc2822Date, ParsesReleaseDatesAndRejectsOthers) {
  using std::chrono::sys_seconds;
  struct Case {
    const char* text;
    std::optional<long long> epoch;
  };
  const Case cases[] = {
      {"Sat, 01 Jan 2000 00:00:00 UTC", 946684800},
      {"Thu, 26 Nov 2026 06:47:50 +0000", 1795675670},
      {"Sat, 01 Jan 2000 01:00:00 +0100", 946684800},  // offsets are applied
      {"01 Jan 2000 00:00:00 GMT", 946684800},          // weekday is optional
      {"Sat, 31 Feb 2000 00:00:00 UTC", std::nullopt},  // no such day
      {"yesterday", std::nullopt},
      {"Sat, 01 Foo 2000 00:00:00 UTC", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const auto t = parse_rfc2822_date(c.text);
    ASSERT_EQ(t.has_value(), c.epoch.has_value());
    if (t) {
      EXPECT_EQ(t->time_since_epoch().count(), *c.epoch);
    }
  }
}

}  // namespace
}  // namespace stage::verifier
