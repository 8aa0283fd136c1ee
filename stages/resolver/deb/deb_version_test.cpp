#include "stages/resolver/deb/deb_version.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::resolver {
namespace {

int sign(int v) { return (v > 0) - (v < 0); }

struct OrderCase {
  const char* a;
  const char* b;
  int expected;  // sign of compare(a, b)
  const char* why;
};

const OrderCase kOrder[] = {
    {"1.0", "1.0", 0, "identical"},
    {"0:1.0", "1.0", 0, "epoch 0 is the default"},
    {"1.0", "1.00", 0, "leading zeros of numeric runs are ignored"},
    {"009", "9", 0, "leading zeros again"},
    {"1.0", "1.0-0", 0, "missing revision equals revision 0 (dpkg)"},
    {"1:0", "9", 1, "any epoch beats no epoch"},
    {"2:1.0", "1:9.9", 1, "epochs compare numerically first"},
    {"1:1.0", "2.0", 1, "epoch before upstream"},
    {"10:1", "9:1", 1, "epoch is numeric, not lexical"},
    {"1.0~rc1", "1.0", -1, "tilde sorts before the end of the string"},
    {"1.0~rc1-1", "1.0-1", -1, "tilde in upstream with revisions"},
    {"1.0~~", "1.0~", -1, "two tildes before one"},
    {"~~", "~~a", -1, "policy example: ~~ < ~~a"},
    {"~~a", "~", -1, "policy example: ~~a < ~"},
    {"1.0~", "1.0", -1, "trailing tilde"},
    {"a~", "a", -1, "tilde after letters (dpkg t-version)"},
    {"a", "a~", 1, "mirror of the previous row"},
    {"1.0-1", "1.0-1.1", -1, "longer revision is newer"},
    {"2.30.1-1+deb12u1", "2.30.1-1", 1, "stable update suffix"},
    {"1.0-1~bpo12+1", "1.0-1", -1, "backports sort below the original"},
    {"3.0-1ubuntu1", "3.0-1", 1, "derivative revision"},
    {"1.0-9", "1.0-10", -1, "numeric revision"},
    {"1.2.3", "1.2.10", -1, "numeric run, not lexical"},
    {"1.0.0", "1.0", 1, "more components are newer"},
    {"1.0", "1.0a", -1, "end of string before a letter"},
    {"1.0a", "1.0+", -1, "letters before non-letters"},
    {"1.0+", "1.0", 1, "plus after the end"},
    {"1.0", "1.0.", -1, "a trailing dot is newer"},
    {"1a", "1b", -1, "letters compare by ASCII"},
    {"1A", "1a", -1, "upper case before lower case"},
    {"1.0-a", "1.0-+", -1, "letter rules apply to the revision too"},
    {"2.36-9+deb12u10", "2.36-9+deb12u9", 1, "numeric suffix in revision"},
    {"1:2.3-4", "1:2.3-4", 0, "identical with epoch and revision"},
    {"1.2-3-4", "1.2-3-5", -1, "revision is after the last hyphen"},
    {"5.10.0-8", "5.10.0-10", -1, "kernel-style revision"},
    {"0.0.0", "0", 1, "zero components still count"},
    {"1.0+dfsg", "1.0", 1, "repack suffix"},
    {"1.0+dfsg", "1.0.1", -1, "non-letters compare by ASCII: '+' before '.'"},
};

TEST(DebVersion, OrdersLikeDpkg) {
  for (const OrderCase& c : kOrder) {
    SCOPED_TRACE(std::string(c.a) + " vs " + c.b + ": " + c.why);
    EXPECT_EQ(sign(compare_versions(std::string_view(c.a), std::string_view(c.b))), c.expected);
    EXPECT_EQ(sign(compare_versions(std::string_view(c.b), std::string_view(c.a))), -c.expected);
  }
}

TEST(DebVersion, ParsedAndStringComparisonsAgree) {
  for (const OrderCase& c : kOrder) {
    if (!is_valid_version(c.a) || !is_valid_version(c.b)) continue;
    SCOPED_TRACE(std::string(c.a) + " vs " + c.b);
    EXPECT_EQ(sign(compare_versions(DebVersion::parse(c.a), DebVersion::parse(c.b))), c.expected);
  }
}

TEST(DebVersion, ParsesEpochUpstreamAndRevision) {
  const DebVersion v = DebVersion::parse("1:2.3.4-5+deb12u1");
  EXPECT_EQ(v.epoch, 1u);
  EXPECT_EQ(v.upstream, "2.3.4");
  EXPECT_EQ(v.revision, "5+deb12u1");
  EXPECT_EQ(v.to_string(), "1:2.3.4-5+deb12u1");

  const DebVersion native = DebVersion::parse(" 1.2-3-4 ");
  EXPECT_EQ(native.upstream, "1.2-3");  // hyphens belong to upstream up to the last one
  EXPECT_EQ(native.revision, "4");

  const DebVersion colon = DebVersion::parse("2:1.0:3");
  EXPECT_EQ(colon.upstream, "1.0:3");  // colons are allowed once an epoch is present
  EXPECT_EQ(DebVersion::parse("7").revision, "");
}

TEST(DebVersion, RejectsInvalidVersions) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"", "version string is empty"},
      {"   ", "version string is empty"},
      {"1.0 1", "embedded spaces"},
      {":1.0", "epoch in version is empty"},
      {"a:1.0", "epoch in version is not number"},
      {"99999999999:1", "epoch in version is too big"},
      {"1:", "nothing after colon"},
      {"1.0-", "revision number is empty"},
      {"-1", "version number is empty"},
      {"abc", "does not start with digit"},
      {"1.0_1", "invalid character in version number"},
      {"1.0-1_2", "invalid character in revision number"},
      {"1.0-1=2", "invalid character in revision number"},
      {"1.0-1:2", "epoch in version is not number"},  // the first colon starts the epoch
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_FALSE(is_valid_version(c.text));
    try {
      DebVersion::parse(c.text);
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find(c.error), std::string::npos) << e.message();
      EXPECT_NE(e.message().find(std::string("'") + c.text + "'"), std::string::npos) << e.message();
    }
  }
}

TEST(DebVersion, ComparesPartsWithTildeBeforeEmpty) {
  EXPECT_LT(compare_version_part("~", ""), 0);
  EXPECT_GT(compare_version_part("a", ""), 0);
  EXPECT_EQ(compare_version_part("", ""), 0);
}

}  // namespace
}  // namespace stage::resolver
