#include "supervisor/cli/cli.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "supervisor/log.hpp"

namespace supervisor {
namespace {

TEST(ArgumentProblem, AcceptsOrRejectsLikeTheReference) {
  struct Case {
    const char* name;
    std::string arg;
    const char* expected;  // nullptr: accepted
  };
  const Case cases[] = {
      {"plain ascii", "image.yml", nullptr},
      {"empty", "", nullptr},
      // Newline and tab are the two control characters the reference allows.
      {"newline and tab", "a\nb\tc", nullptr},
      {"two, three and four byte characters", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", nullptr},
      {"exactly the limit", std::string(4096, 'a'), nullptr},
      // The limit counts characters, not bytes.
      {"limit in multibyte characters", [] { std::string s; for (int i = 0; i < 4096; ++i) s += "\xc3\xa9"; return s; }(), nullptr},
      {"one over the limit", std::string(4097, 'a'), "longer than 4096"},
      {"escape", "a\x1b[31m", "control character"},
      {"delete", "a\x7f", "control character"},
      {"carriage return", "a\rb", "control character"},
      {"truncated sequence", "caf\xc3", "not valid UTF-8"},
      {"stray continuation byte", "\x80", "not valid UTF-8"},
      {"overlong slash", "\xc0\xaf", "not valid UTF-8"},
      {"utf-16 surrogate", "\xed\xa0\x80", "not valid UTF-8"},
      {"beyond U+10FFFF", "\xf4\x90\x80\x80", "not valid UTF-8"},
      {"five byte lead", "\xf8\x88\x80\x80\x80", "not valid UTF-8"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto problem = cli::argument_problem(c.arg);
    if (c.expected == nullptr) {
      EXPECT_FALSE(problem.has_value()) << *problem;
    } else {
      ASSERT_TRUE(problem.has_value());
      EXPECT_NE(problem->find(c.expected), std::string::npos) << *problem;
    }
  }
}

TEST(VerbTable, NamesAreUniqueAndEveryVerbHasAHandler) {
  const auto verbs = cli::verb_table();
  for (std::size_t i = 0; i < verbs.size(); ++i) {
    SCOPED_TRACE(std::string(verbs[i].name));
    EXPECT_NE(verbs[i].run, nullptr);
    EXPECT_FALSE(verbs[i].summary.empty());
    EXPECT_LE(verbs[i].min_args, verbs[i].max_args);
    for (std::size_t j = i + 1; j < verbs.size(); ++j) EXPECT_NE(verbs[i].name, verbs[j].name);
  }
}

std::string read_stream(std::FILE* f) {
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text += static_cast<char>(c);
  return text;
}

TEST(Logger, DropsLinesBelowItsLevel) {
  std::FILE* err = std::tmpfile();
  ASSERT_NE(err, nullptr);
  Logger log(LogLevel::kWarn, err);
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  EXPECT_EQ(read_stream(err), "warn: w\nerror: e\n");
  std::fclose(err);
}

TEST(Logger, TeeFileIsOverwrittenAndTimestamped) {
  std::FILE* err = std::tmpfile();
  ASSERT_NE(err, nullptr);
  const auto path = std::filesystem::temp_directory_path() / ("oic-log-test-" + std::to_string(::getpid()));
  std::ofstream(path) << "old contents\n";
  Logger log(LogLevel::kInfo, err);
  log.tee_to(path);
  log.info("hello");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  // "2026-01-02T03:04:05Z info: hello"
  EXPECT_EQ(text.str().find("old contents"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().size(), std::string("2026-01-02T03:04:05Z info: hello\n").size()) << text.str();
  EXPECT_EQ(text.str().substr(20), " info: hello\n");
  std::filesystem::remove(path);
  std::fclose(err);
}

TEST(Logger, ParsesExactlyTheFourLevels) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::kDebug);
  EXPECT_EQ(parse_log_level("error"), LogLevel::kError);
  EXPECT_FALSE(parse_log_level("DEBUG").has_value());
  EXPECT_FALSE(parse_log_level("warning").has_value());
}

}  // namespace
}  // namespace supervisor
