#include "stages/resolver/deb/relations.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace stage::resolver {
namespace {

TEST(RelationsParser, ParsesGroupsAlternativesAndOperators) {
  struct Case {
    const char* text;
    const char* name;
    const char* qualifier;
    RelOp op;
    const char* version;
  };
  const Case cases[] = {
      {"libc6", "libc6", "", RelOp::kAny, ""},
      {"libc6 (>= 2.36)", "libc6", "", RelOp::kGreaterEqual, "2.36"},
      {"libc6(>=2.36)", "libc6", "", RelOp::kGreaterEqual, "2.36"},  // spaces are optional
      {"a (<< 1:2.0~rc1-1)", "a", "", RelOp::kLess, "1:2.0~rc1-1"},  // epoch and tilde
      {"a (<= 1)", "a", "", RelOp::kLessEqual, "1"},
      {"a (= 1)", "a", "", RelOp::kEqual, "1"},
      {"a (>> 1)", "a", "", RelOp::kGreater, "1"},
      {"a (< 1)", "a", "", RelOp::kLessEqual, "1"},     // obsolete '<' means '<='
      {"a (> 1)", "a", "", RelOp::kGreaterEqual, "1"},  // obsolete '>' means '>='
      {"python3:any", "python3", "any", RelOp::kAny, ""},
      {"perl:any (>= 5.10)", "perl", "any", RelOp::kGreaterEqual, "5.10"},
      {"libfoo:native", "libfoo", "native", RelOp::kAny, ""},
      {"libfoo:amd64 ( >= 1 )", "libfoo", "amd64", RelOp::kGreaterEqual, "1"},
      {"g++-12", "g++-12", "", RelOp::kAny, ""},
      {"\n  folded\n  (>= 1)\n", "folded", "", RelOp::kGreaterEqual, "1"},  // folded field text
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const RelationList list = parse_relations(c.text);
    ASSERT_EQ(list.size(), 1u);
    ASSERT_EQ(list[0].size(), 1u);
    const Relation& r = list[0][0];
    EXPECT_EQ(r.name, c.name);
    EXPECT_EQ(r.arch_qualifier, c.qualifier);
    EXPECT_EQ(r.op, c.op);
    EXPECT_EQ(r.version, c.version);
  }
}

TEST(RelationsParser, SplitsCommasAndBars) {
  const RelationList list = parse_relations("a | b (>= 2) | c:any, d ,e|f,");
  ASSERT_EQ(list.size(), 3u);
  ASSERT_EQ(list[0].size(), 3u);
  EXPECT_EQ(list[0][1].to_string(), "b (>= 2)");
  EXPECT_EQ(list[0][2].to_string(), "c:any");
  EXPECT_EQ(list[1][0].name, "d");
  EXPECT_EQ(to_string(list[2]), "e | f");
  EXPECT_TRUE(parse_relations("").empty());
  EXPECT_TRUE(parse_relations("  \n ").empty());
}

TEST(RelationsParser, KeepsArchitectureListsAndRestrictions) {
  const RelationList list = parse_relations("a [amd64 arm64] <!nocheck> <stage1 cross>, b [!i386]");
  const Relation& a = list[0][0];
  EXPECT_EQ(a.arch_list, (std::vector<std::string>{"amd64", "arm64"}));
  EXPECT_EQ(a.restrictions, (std::vector<std::string>{"!nocheck", "stage1 cross"}));
  EXPECT_TRUE(a.applies_to("amd64"));
  EXPECT_FALSE(a.applies_to("i386"));
  const Relation& b = list[1][0];
  EXPECT_FALSE(b.applies_to("i386"));
  EXPECT_TRUE(b.applies_to("amd64"));
}

TEST(RelationsParser, RejectsMalformedRelations) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"a (>= )", "empty version"},
      {"a (~ 1)", "missing version operator"},
      {"a (>= 1", "unterminated version constraint"},
      {"a (>= x)", "invalid version 'x'"},
      {"a [amd64", "unterminated architecture list"},
      {"a []", "empty architecture list"},
      {"a <!nocheck", "unterminated restriction list"},
      {"a, , b", "empty group"},
      {"a | | b", "missing package name"},
      {"(>= 1)", "missing package name"},
      {"-a", "must start with an alphanumeric"},
      {"a b", "unexpected text"},
      {"a:", "empty architecture qualifier"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      parse_relations(c.text, "Depends");
      ADD_FAILURE() << "no error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find(c.error), std::string::npos) << e.message();
      EXPECT_NE(e.message().find("Depends relation"), std::string::npos) << e.message();
    }
  }
}

TEST(RelationsParser, EvaluatesOperatorsInDpkgOrder) {
  struct Case {
    const char* version;
    RelOp op;
    const char* constraint;
    bool expected;
  };
  const Case cases[] = {
      {"1.0", RelOp::kLess, "1.0", false},
      {"1.0~rc1", RelOp::kLess, "1.0", true},
      {"1.0", RelOp::kLessEqual, "1.0", true},
      {"1.0", RelOp::kEqual, "1.0-0", true},
      {"1:0.1", RelOp::kGreaterEqual, "9.9", true},
      {"2.30.1-1+deb12u1", RelOp::kGreater, "2.30.1-1", true},
      {"2.30.1-1", RelOp::kGreater, "2.30.1-1", false},
      {"anything", RelOp::kAny, "", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.version) + " " + std::string(to_string(c.op)) + " " + c.constraint);
    EXPECT_EQ(version_satisfies(c.version, c.op, c.constraint), c.expected);
  }
}

}  // namespace
}  // namespace stage::resolver
