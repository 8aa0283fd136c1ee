#include "config/global_config.hpp"

#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "tests/support/temp_dir.hpp"

namespace config {
namespace {
namespace fs = std::filesystem;

// A scratch directory removed at the end of each test.
using TempDir = ::tests::TempDir;

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

Environment user_env(const fs::path& root) {
  Environment env;
  env.uid = 1000;
  env.vars = {{"HOME", (root / "home").string()}};
  env.cwd = root / "cwd";
  env.source_root = root / "src";
  env.data_dir = root / "share";
  return env;
}

TEST(GlobalConfigDefaults, RootUsesSystemDirectories) {
  TempDir tmp;
  Environment env = user_env(tmp.path());
  env.uid = 0;
  const GlobalConfig c = default_global_config(env);
  EXPECT_EQ(c.cache_dir, "/var/cache/os-image-composer");
  EXPECT_EQ(c.work_dir, "/var/lib/os-image-composer/workspace");
  EXPECT_EQ(c.temp_dir, "/tmp");
  EXPECT_EQ(c.workers, 8);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.log_file.empty());
  EXPECT_TRUE(c.source.empty());
}

TEST(GlobalConfigDefaults, UserWithoutXdgVariablesUsesHomeDirectories) {
  TempDir tmp;
  const Environment env = user_env(tmp.path());
  const GlobalConfig c = default_global_config(env);
  EXPECT_EQ(c.cache_dir, tmp.path() / "home/.cache/os-image-composer");
  EXPECT_EQ(c.work_dir, tmp.path() / "home/.local/share/os-image-composer/workspace");
}

TEST(GlobalConfigDefaults, UserFollowsXdgVariablesAndTmpdir) {
  TempDir tmp;
  Environment env = user_env(tmp.path());
  env.vars["XDG_CACHE_HOME"] = "/xdg/cache";
  env.vars["XDG_DATA_HOME"] = "/xdg/data";
  env.vars["TMPDIR"] = "/scratch";
  const GlobalConfig c = default_global_config(env);
  EXPECT_EQ(c.cache_dir, "/xdg/cache/os-image-composer");
  EXPECT_EQ(c.work_dir, "/xdg/data/os-image-composer/workspace");
  EXPECT_EQ(c.temp_dir, "/scratch");
}

TEST(GlobalConfigDefaults, IgnoresRelativeXdgVariables) {
  TempDir tmp;
  Environment env = user_env(tmp.path());
  env.vars["XDG_CACHE_HOME"] = "relative/cache";
  EXPECT_EQ(default_global_config(env).cache_dir, tmp.path() / "home/.cache/os-image-composer");
}

TEST(GlobalConfigDefaults, ConfigDirIsTheFirstExistingCandidate) {
  TempDir tmp;
  Environment env = user_env(tmp.path());
  env.vars["OIC_CONFIG_DIR"] = (tmp.path() / "override").string();
  // Nothing exists yet: the installed location is the fallback.
  EXPECT_EQ(default_global_config(env).config_dir, tmp.path() / "share/config");
  fs::create_directories(tmp.path() / "src/config");
  EXPECT_EQ(default_global_config(env).config_dir, tmp.path() / "src/config");
  fs::create_directories(tmp.path() / "override");
  EXPECT_EQ(default_global_config(env).config_dir, tmp.path() / "override");
}

TEST(GlobalConfigSearch, ListsCandidatesInOrder) {
  TempDir tmp;
  Environment env = user_env(tmp.path());
  env.vars["XDG_CONFIG_HOME"] = "/xdg/config";
  const fs::path cwd = env.cwd;
  const std::vector<fs::path> expected = {
      cwd / "os-image-composer.yml",
      cwd / ".os-image-composer.yml",
      cwd / "os-image-composer.yaml",
      cwd / ".os-image-composer.yaml",
      cwd / "image-composer-tool.yml",
      cwd / ".image-composer-tool.yml",
      cwd / "image-composer-tool.yaml",
      cwd / ".image-composer-tool.yaml",
      "/xdg/config/os-image-composer/config.yml",
      "/xdg/config/os-image-composer/config.yaml",
      tmp.path() / "home/.image-composer-tool/config.yml",
      tmp.path() / "home/.image-composer-tool/config.yaml",
      tmp.path() / "home/.config/image-composer-tool/config.yml",
      tmp.path() / "home/.config/image-composer-tool/config.yaml",
      "/etc/os-image-composer/config.yml",
      "/etc/os-image-composer/config.yaml",
      "/etc/image-composer-tool/config.yml",
      "/etc/image-composer-tool/config.yaml",
  };
  EXPECT_EQ(global_config_search_paths(env), expected);
}

TEST(GlobalConfigSearch, PrefersTheWorkingDirectoryOverTheUserDirectory) {
  TempDir tmp;
  const Environment env = user_env(tmp.path());
  const fs::path user_file = tmp.path() / "home/.config/os-image-composer/config.yml";
  write_file(user_file, "workers: 3\n");
  EXPECT_EQ(find_global_config(env), user_file);
  write_file(env.cwd / ".os-image-composer.yaml", "workers: 4\n");
  EXPECT_EQ(find_global_config(env), env.cwd / ".os-image-composer.yaml");
  write_file(env.cwd / "os-image-composer.yml", "workers: 5\n");
  EXPECT_EQ(find_global_config(env), env.cwd / "os-image-composer.yml");
  const GlobalConfig c = load_global_config(std::nullopt, env);
  EXPECT_EQ(c.workers, 5);
  EXPECT_EQ(c.source, env.cwd / "os-image-composer.yml");
}

// A user moving from the reference tool keeps its config file where it is.
TEST(GlobalConfigSearch, FindsTheReferenceToolsFileAfterThisToolsOwn) {
  TempDir tmp;
  const Environment env = user_env(tmp.path());
  const fs::path system_style = tmp.path() / "home/.image-composer-tool/config.yaml";
  write_file(system_style, "workers: 2\n");
  EXPECT_EQ(find_global_config(env), system_style);
  write_file(env.cwd / ".image-composer-tool.yml", "workers: 3\n");
  EXPECT_EQ(find_global_config(env), env.cwd / ".image-composer-tool.yml");
  EXPECT_EQ(load_global_config(std::nullopt, env).workers, 3);
  write_file(env.cwd / "os-image-composer.yaml", "workers: 4\n");
  EXPECT_EQ(find_global_config(env), env.cwd / "os-image-composer.yaml");
}

TEST(GlobalConfigSearch, KnowsTheReferenceToolsFileNames) {
  EXPECT_TRUE(is_reference_tool_config("/w/image-composer-tool.yml"));
  EXPECT_TRUE(is_reference_tool_config("/w/.image-composer-tool.yaml"));
  EXPECT_TRUE(is_reference_tool_config("/h/.image-composer-tool/config.yml"));
  EXPECT_TRUE(is_reference_tool_config("/etc/image-composer-tool/config.yaml"));
  EXPECT_FALSE(is_reference_tool_config("/w/os-image-composer.yml"));
  EXPECT_FALSE(is_reference_tool_config("/etc/os-image-composer/config.yml"));
  EXPECT_FALSE(is_reference_tool_config("/w/image-composer-tool.yml.bak"));
}

// The reference tool's file, as its `config init` writes it plus an `ai:`
// block: every key it shares with this tool keeps its meaning, relative
// paths are taken from the working directory as the reference tool takes
// them, and `ai` is reported once, not refused.
TEST(GlobalConfigLoad, ReadsTheReferenceToolsFile) {
  TempDir tmp;
  const Environment env = user_env(tmp.path());
  write_file(env.cwd / "image-composer-tool.yml",
             "workers: 16\n"
             "config_dir: \"./config\"\n"
             "cache_dir: \"./cache\"\n"
             "work_dir: \"./workspace\"\n"
             "temp_dir: \"\"\n"
             "logging:\n"
             "  level: \"debug\"\n"
             "  file: \"image-composer-tool.log\"\n"
             "ai:\n"
             "  provider: ollama\n"
             "  templates_dir: ./image-templates\n"
             "  ollama:\n"
             "    base_url: http://localhost:11434\n"
             "  scoring:\n"
             "    semantic_weight: 0.70\n");
  const GlobalConfig c = load_global_config(std::nullopt, env);
  EXPECT_EQ(c.source, env.cwd / "image-composer-tool.yml");
  EXPECT_EQ(c.workers, 16);
  EXPECT_EQ(c.config_dir, env.cwd / "config");
  EXPECT_EQ(c.cache_dir, env.cwd / "cache");
  EXPECT_EQ(c.work_dir, env.cwd / "workspace");
  EXPECT_EQ(c.temp_dir, default_global_config(env).temp_dir);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_file, env.cwd / "image-composer-tool.log");
  ASSERT_EQ(c.warnings.size(), 1u);
  const std::string& warning = c.warnings.front();
  EXPECT_NE(warning.find((env.cwd / "image-composer-tool.yml").string() + ":9:1"), std::string::npos) << warning;
  EXPECT_NE(warning.find("key 'ai' is ignored"), std::string::npos) << warning;
}

// Given with --config from elsewhere, a reference-tool file still resolves
// against the working directory; this tool's own file against its directory.
TEST(GlobalConfigLoad, ResolvesRelativePathsAsTheFilesToolDoes) {
  TempDir tmp;
  const Environment env = user_env(tmp.path());
  const fs::path theirs = tmp.path() / "etc/image-composer-tool/config.yml";
  const fs::path ours = tmp.path() / "etc/os-image-composer/config.yml";
  write_file(theirs, "cache_dir: ./cache\n");
  write_file(ours, "cache_dir: ./cache\n");
  EXPECT_EQ(load_global_config(theirs, env).cache_dir, env.cwd / "cache");
  EXPECT_EQ(load_global_config(ours, env).cache_dir, ours.parent_path() / "cache");
}

TEST(GlobalConfigParse, AcceptsAiInThisToolsFileToo) {
  const GlobalConfig c = parse_global_config("ai:\n  provider: openai\nworkers: 3\n", "/c.yml", GlobalConfig{});
  EXPECT_EQ(c.workers, 3);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings.front().find("/c.yml:1:1: key 'ai' is ignored"), std::string::npos) << c.warnings.front();
  EXPECT_TRUE(parse_global_config("workers: 3\n", "/c.yml", GlobalConfig{}).warnings.empty());
}

TEST(GlobalConfigLoad, WithoutAnyFileGivesDefaults) {
  TempDir tmp;
  const Environment env = user_env(tmp.path());
  const GlobalConfig c = load_global_config(std::nullopt, env);
  EXPECT_TRUE(c.source.empty());
  EXPECT_EQ(c.cache_dir, default_global_config(env).cache_dir);
}

TEST(GlobalConfigLoad, RejectsAMissingExplicitFile) {
  TempDir tmp;
  const Environment env = user_env(tmp.path());
  try {
    load_global_config(tmp.path() / "absent.yml", env);
    FAIL() << "expected an error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(e.message().find("absent.yml' given with --config: it does not exist"), std::string::npos)
        << e.message();
  }
}

TEST(GlobalConfigParse, OverlaysEveryKeyAndResolvesRelativePaths) {
  const GlobalConfig c = parse_global_config(
      "workers: 12\n"
      "config_dir: /data/config\n"
      "cache_dir: cache\n"
      "work_dir: ../work\n"
      "temp_dir: /var/tmp\n"
      "output_names: reference\n"
      "logging:\n"
      "  level: debug\n"
      "  file: build.log\n",
      "/etc/oic/config.yml", GlobalConfig{});
  EXPECT_EQ(c.workers, 12);
  EXPECT_EQ(c.output_names, "reference");
  EXPECT_EQ(c.config_dir, "/data/config");
  EXPECT_EQ(c.cache_dir, "/etc/oic/cache");
  EXPECT_EQ(c.work_dir, "/etc/work");
  EXPECT_EQ(c.temp_dir, "/var/tmp");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_file, "/etc/oic/build.log");
  EXPECT_EQ(c.source, "/etc/oic/config.yml");
}

TEST(GlobalConfigParse, EmptyFileAndNullValuesKeepDefaults) {
  GlobalConfig base;
  base.cache_dir = "/base/cache";
  EXPECT_EQ(parse_global_config("", "/c.yml", base).cache_dir, "/base/cache");
  EXPECT_EQ(parse_global_config("cache_dir:\nworkers: ~\n", "/c.yml", base).cache_dir, "/base/cache");
}

TEST(GlobalConfigParse, RejectsBadInputWithPosition) {
  struct Case {
    const char* name;
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      // A typo gets a suggestion and the key's position.
      {"typo", "workers: 2\nwrokers: 3\n", "/c.yml:2:1: unknown key 'wrokers' (did you mean 'workers'?)"},
      // Keys far from every known key get no suggestion.
      {"unrelated key", "colour: blue\n", "/c.yml:1:1: unknown key 'colour'"},
      // Nested sections are checked too.
      {"logging typo", "logging:\n  levle: info\n", "/c.yml:2:3: unknown key 'levle' in 'logging' (did you mean 'level'?)"},
      {"workers not a number", "workers: many\n", "/c.yml:1:10: 'workers' must be an integer"},
      {"workers fraction", "workers: 2.5\n", "'workers' must be an integer"},
      {"workers too low", "workers: 0\n", "'workers' must be between 1 and 100, got 0"},
      {"workers too high", "workers: 101\n", "'workers' must be between 1 and 100, got 101"},
      {"level unknown", "logging:\n  level: loud\n", "/c.yml:2:10: 'logging.level' must be one of debug, info, warn, error"},
      {"logging scalar", "logging: debug\n", "'logging' must be a mapping"},
      {"path list", "cache_dir: [a, b]\n", "/c.yml:1:12: 'cache_dir' must be a string"},
      {"path empty", "work_dir: ''\n", "'work_dir' must not be empty"},
      {"output names unknown", "output_names: go\n", "/c.yml:1:15: output_names must be 'own' or 'reference', not 'go'"},
      {"output names list", "output_names: [own]\n", "output_names must be 'own' or 'reference'"},
      {"not a mapping", "- workers\n", "/c.yml:1:1: the config file must be a mapping"},
      {"syntax error", "workers: [1,\n", "/c.yml:"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      parse_global_config(c.yaml, "/c.yml", GlobalConfig{});
      ADD_FAILURE() << "expected an error";
    } catch (const base::Error& e) {
      EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
      EXPECT_NE(e.message().find(c.expected), std::string::npos) << e.message();
    }
  }
}

TEST(GlobalConfigEmit, ShownAndCommentedFormsParseBackToTheSameValues) {
  GlobalConfig c;
  c.workers = 17;
  c.config_dir = "/x/config";
  c.cache_dir = "/x/cache dir: with colon";
  c.work_dir = "/x/work";
  c.temp_dir = "/x/tmp";
  c.log_level = "warn";
  c.log_file = "/x/oic.log";
  c.output_names = "reference";
  for (const std::string& text : {emit_global_config(c), commented_global_config(c)}) {
    SCOPED_TRACE(text);
    const GlobalConfig back = parse_global_config(text, "/elsewhere/c.yml", GlobalConfig{});
    EXPECT_EQ(back.workers, c.workers);
    EXPECT_EQ(back.config_dir, c.config_dir);
    EXPECT_EQ(back.cache_dir, c.cache_dir);
    EXPECT_EQ(back.work_dir, c.work_dir);
    EXPECT_EQ(back.temp_dir, c.temp_dir);
    EXPECT_EQ(back.log_level, c.log_level);
    EXPECT_EQ(back.log_file, c.log_file);
    EXPECT_EQ(back.output_names, c.output_names);
  }
}

TEST(GlobalConfigEmit, EmptyLogFileStaysEmpty) {
  GlobalConfig c;
  c.config_dir = c.cache_dir = c.work_dir = c.temp_dir = "/x";
  const GlobalConfig back = parse_global_config(commented_global_config(c), "/c.yml", GlobalConfig{});
  EXPECT_TRUE(back.log_file.empty());
}

}  // namespace
}  // namespace config
