#include "supervisor/cli/cli.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "base/error.hpp"
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

// What `run` prints and returns for one command line.
struct Ran {
  int code;
  std::string out;
};

Ran run_cli(const std::vector<std::string>& args) {
  std::ostringstream out;
  const int code = cli::run(args, out);
  return {code, out.str()};
}

const cli::Verb& verb_named(const std::vector<cli::Verb>& verbs, std::string_view name) {
  for (const cli::Verb& v : verbs) {
    if (v.name == name) return v;
  }
  throw std::runtime_error("no verb " + std::string(name));
}

TEST(BoolFlagArgs, TakesGoStyleValuesOnBooleanFlagsOnly) {
  const auto verbs = cli::verb_table();
  const auto build = cli::verb_options(verb_named(verbs, "build"));
  using Args = std::vector<std::string>;
  EXPECT_EQ(cli::bool_flag_args({"--rebuild=true", "t.yml"}, build), (Args{"--rebuild", "t.yml"}));
  EXPECT_EQ(cli::bool_flag_args({"--rebuild=false", "t.yml"}, build), (Args{"t.yml"}));
  EXPECT_EQ(cli::bool_flag_args({"--json=1", "--rebuild=F"}, build), (Args{"--json"}));
  EXPECT_EQ(cli::bool_flag_args({"--rebuild", "--workers=4"}, build), (Args{"--rebuild", "--workers=4"}));
  const auto globals = cli::global_options();
  EXPECT_EQ(cli::bool_flag_args({"-v=true", "-h=false", "--verbose=True"}, globals), (Args{"-v", "--verbose"}));
  EXPECT_EQ(cli::bool_flag_args({"-w=4", "--config=x.yml"}, build), (Args{"-w=4", "--config=x.yml"}));
  // After "--" everything is an argument.
  EXPECT_EQ(cli::bool_flag_args({"--", "--rebuild=maybe"}, build), (Args{"--", "--rebuild=maybe"}));
  try {
    cli::bool_flag_args({"t.yml", "--rebuild=maybe"}, build);
    FAIL() << "--rebuild=maybe accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("invalid value 'maybe' for --rebuild"), std::string::npos) << e.what();
  }
}

TEST(BoolFlags, TrueAndFalseValuesWorkOnGlobalAndVerbFlags) {
  EXPECT_EQ(run_cli({"--help=true", "version"}).out, run_cli({"version", "--help"}).out);
  const Ran plain = run_cli({"version"});
  EXPECT_EQ(plain.code, cli::kExitOk);
  EXPECT_EQ(run_cli({"version", "--help=false", "--verbose=false"}).out, plain.out);
  EXPECT_EQ(run_cli({"--log-level=warn", "version"}).out, plain.out);
  EXPECT_EQ(run_cli({"--verbose=maybe", "version"}).code, cli::kExitUsage);
  EXPECT_EQ(run_cli({"completion", "install", "--force=yes"}).code, cli::kExitUsage);
}

TEST(Help, PrintsWhatHelpFlagPrints) {
  const auto verbs = cli::verb_table();
  EXPECT_EQ(run_cli({"help"}).out, run_cli({"--help"}).out);
  EXPECT_EQ(run_cli({"help", "config"}).out, run_cli({"config", "--help"}).out);
  for (const cli::Verb& v : verbs) {
    SCOPED_TRACE(std::string(v.name));
    std::vector<std::string> words{"help"};
    std::istringstream name{std::string(v.name)};
    for (std::string w; name >> w;) words.push_back(w);
    std::vector<std::string> flag_form(words.begin() + 1, words.end());
    flag_form.push_back("--help");
    const Ran help = run_cli(words);
    EXPECT_EQ(help.code, cli::kExitOk);
    EXPECT_EQ(help.out, run_cli(flag_form).out);
    EXPECT_NE(help.out.find("Usage: os-image-composer " + std::string(v.name)), std::string::npos);
  }
  EXPECT_EQ(run_cli({"help", "bogus"}).code, cli::kExitUsage);
  EXPECT_EQ(run_cli({"help", "build", "extra"}).code, cli::kExitUsage);
}

TEST(Version, PrintsTheReferenceLines) {
  const Ran version = run_cli({"version"});
  EXPECT_EQ(version.code, cli::kExitOk);
  // The build date is the commit's (or SOURCE_DATE_EPOCH's) and the commit
  // git's; a tree built outside git (CI builds a copy of the tracked files)
  // says "unknown", never another value such as the version.
  EXPECT_TRUE(std::regex_match(version.out, std::regex("os-image-composer v[0-9]+\\.[0-9]+\\.[0-9]+\n"
                                                       "Build Date: ([0-9]{4}-[0-9]{2}-[0-9]{2}|unknown)\n"
                                                       "Commit: ([0-9a-f]{12}|unknown)\n")))
      << version.out;
}

// HOME and the XDG variables pointed at a fresh directory for one test.
class CompletionInstall : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() / ("oic-completion-" + std::to_string(::getpid()));
    std::filesystem::remove_all(home_);
    std::filesystem::create_directories(home_);
    for (const char* var : {"HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "SHELL"}) {
      if (const char* value = std::getenv(var)) saved_.emplace_back(var, value);
      ::unsetenv(var);
    }
    ::setenv("HOME", home_.c_str(), 1);
  }
  void TearDown() override {
    for (const char* var : {"HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "SHELL"}) ::unsetenv(var);
    for (const auto& [var, value] : saved_) ::setenv(var.c_str(), value.c_str(), 1);
    std::filesystem::remove_all(home_);
  }
  static std::string read(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::filesystem::path home_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST_F(CompletionInstall, WritesEachShellsScriptWhereThatShellReadsIt) {
  const std::pair<const char*, std::filesystem::path> places[] = {
      {"bash", home_ / ".local/share/bash-completion/completions/os-image-composer"},
      {"zsh", home_ / ".zsh/completion/_os-image-composer"},
      {"fish", home_ / ".config/fish/completions/os-image-composer.fish"},
      {"powershell", home_ / ".config/powershell/os-image-composer-completion.ps1"},
  };
  for (const auto& [shell, file] : places) {
    SCOPED_TRACE(shell);
    const Ran installed = run_cli({"completion", "install", "--shell", shell});
    EXPECT_EQ(installed.code, cli::kExitOk);
    EXPECT_NE(installed.out.find(file.string()), std::string::npos) << installed.out;
    EXPECT_EQ(read(file), run_cli({"completion", shell}).out);
  }
}

TEST_F(CompletionInstall, FollowsShellAndXdgAndKeepsADifferentFileUnlessForced) {
  ::setenv("SHELL", "/usr/bin/fish", 1);
  ::setenv("XDG_CONFIG_HOME", (home_ / "conf").c_str(), 1);
  const std::filesystem::path file = home_ / "conf/fish/completions/os-image-composer.fish";
  ASSERT_EQ(run_cli({"completion", "install"}).code, cli::kExitOk);
  EXPECT_EQ(read(file), run_cli({"completion", "fish"}).out);
  std::ofstream(file) << "# edited\n";
  EXPECT_EQ(run_cli({"completion", "install"}).code, cli::kExitUsage);
  EXPECT_EQ(read(file), "# edited\n");
  EXPECT_EQ(run_cli({"completion", "install", "--force"}).code, cli::kExitOk);
  EXPECT_EQ(read(file), run_cli({"completion", "fish"}).out);
  ::setenv("SHELL", "/bin/tcsh", 1);
  EXPECT_EQ(run_cli({"completion", "install"}).code, cli::kExitUsage);
  EXPECT_EQ(run_cli({"completion", "install", "--shell", "tcsh"}).code, cli::kExitUsage);
}

TEST_F(CompletionInstall, BashScriptParsesAndPowerShellScriptListsEveryVerb) {
  const std::filesystem::path script = home_ / "c.bash";
  std::ofstream(script) << run_cli({"completion", "bash"}).out;
  EXPECT_EQ(std::system(("bash -n '" + script.string() + "'").c_str()), 0);
  const std::string ps = run_cli({"completion", "powershell"}).out;
  EXPECT_NE(ps.find("Register-ArgumentCompleter -Native -CommandName 'os-image-composer'"), std::string::npos);
  EXPECT_NE(ps.find("'completion install' = @('--shell', '--force')"), std::string::npos) << ps;
  for (const cli::Verb& v : cli::verb_table()) {
    EXPECT_NE(ps.find("'" + std::string(v.name) + "' = @("), std::string::npos) << v.name;
  }
  EXPECT_EQ(std::count(ps.begin(), ps.end(), '{'), std::count(ps.begin(), ps.end(), '}'));
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
