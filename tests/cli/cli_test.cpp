// Runs the os-image-composer binary as a subprocess, as a user would, and
// checks exit codes, stdout and stderr for every verb. The binary's path and
// the source tree come from meson through OIC_CLI and OIC_SOURCE_DIR.
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/run_program.hpp"
#include <yaml-cpp/yaml.h>

extern char** environ;

namespace {
namespace fs = std::filesystem;

const char* env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

const fs::path kCli = env_or_empty("OIC_CLI");
const fs::path kSource = env_or_empty("OIC_SOURCE_DIR");
const std::string kVersion = env_or_empty("OIC_EXPECTED_VERSION");

using Result = tests::support::RunResult;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Each test gets its own HOME, XDG directories and working directory, so the
// machine's real config files never leak in.
class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(kCli.empty()) << "OIC_CLI must name the binary";
    std::string pattern = (fs::temp_directory_path() / "oic-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "cwd");
    env_ = {
        {"PATH", "/usr/bin:/bin"},
        {"HOME", (root_ / "home").string()},
        {"XDG_CONFIG_HOME", (root_ / "home/.config").string()},
        {"XDG_CACHE_HOME", (root_ / "home/.cache").string()},
        {"XDG_DATA_HOME", (root_ / "home/.local/share").string()},
        {"TMPDIR", (root_ / "tmp").string()},
    };
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Runs the binary with `args` in <root>/cwd with exactly env_.
  Result run(const std::vector<std::string>& args, const fs::path& program = kCli) {
    std::vector<std::string> argv = {program.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return tests::support::run_program(argv, env_, root_, "/dev/null", root_ / "cwd");
  }

  fs::path root_;
  std::map<std::string, std::string> env_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::vector<std::string> kVerbs = {"build", "validate", "lock", "fetch", "boot", "config", "cache",
                                         "version", "completion", "help"};

TEST_F(Cli, HelpListsEveryVerbTheGlobalFlagsAndExitCodes) {
  const Result r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const std::string& verb : kVerbs) EXPECT_TRUE(contains(r.out, "  " + verb)) << verb;
  for (const char* flag : {"--config", "--log-level", "--log-file", "--verbose"}) {
    EXPECT_TRUE(contains(r.out, flag)) << flag;
  }
  EXPECT_TRUE(contains(r.out, "Exit codes"));
  EXPECT_TRUE(contains(r.out, "2  usage error"));
}

TEST_F(Cli, EveryVerbHasItsOwnHelp) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const Case cases[] = {
      {{"build", "--help"}, "--system-packages-only"},
      {{"build", "-h"}, "--keep-requests"},
      {{"build", "--help"}, "--rebuild"},
      {{"fetch", "--help"}, "--check-archives"},
      {{"validate", "--help"}, "--merged"},
      {{"lock", "--help"}, "--output"},
      {{"config", "init", "--help"}, "--force"},
      {{"config", "show", "--help"}, "config show"},
      {{"cache", "clean", "--help"}, "--provider-id"},
      {{"version", "--help"}, "version"},
      {{"completion", "--help"}, "completion powershell"},
      {{"completion", "install", "--help"}, "--shell"},
      {{"help", "completion", "install"}, "--shell"},
      // A group name alone with --help lists its members.
      {{"config", "--help"}, "config init"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0] + " " + c.args[1]);
    const Result r = run(c.args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, c.expected)) << r.out;
    EXPECT_TRUE(contains(r.out, "Usage: os-image-composer")) << r.out;
  }
}

TEST_F(Cli, UsageErrorsExitTwoWithOneClearMessage) {
  struct Case {
    const char* name;
    std::vector<std::string> args;
    std::string expected;
  };
  const Case cases[] = {
      {"no verb", {}, "missing command"},
      {"unknown verb", {"frobnicate"}, "unknown command 'frobnicate'"},
      {"unknown group member", {"config", "edit"}, "unknown command 'config edit'"},
      {"group without member", {"cache"}, "cache clean"},
      {"unknown flag", {"validate", "--strict", "x.yml"}, "--strict"},
      {"flag before the verb", {"--merged", "validate", "x.yml"}, "--merged"},
      // Abbreviations are not guessed.
      {"abbreviated flag", {"validate", "--merge", "x.yml"}, "--merge"},
      {"missing argument", {"validate"}, "'validate' takes TEMPLATE, got 0"},
      {"extra argument", {"validate", "a.yml", "b.yml"}, "got 2"},
      {"argument to a verb without any", {"version", "now"}, "'version' takes no arguments"},
      {"bad log level", {"--log-level", "loud", "version"}, "invalid --log-level 'loud'"},
      {"workers not a number", {"build", "-w", "many", "t.yml"}, "workers"},
      {"workers out of range", {"build", "--workers", "0", "t.yml"}, "invalid --workers 0"},
      {"unknown output names", {"build", "--output-names=go", "t.yml"}, "invalid --output-names 'go'"},
      {"not a template file", {"validate", "notes.txt"}, "expected a .yml or .yaml file"},
      {"missing template", {"validate", "absent.yml"}, "absent.yml"},
      {"missing lock template", {"lock", "absent.yml"}, "absent.yml"},
      {"unknown shell", {"completion", "tcsh"}, "unknown command 'completion tcsh' (expected one of: completion bash"},
      {"unknown shell to install", {"completion", "install", "--shell", "tcsh"}, "unknown --shell 'tcsh'"},
      {"bad boolean value", {"validate", "--merged=maybe", "x.yml"}, "invalid value 'maybe' for --merged"},
      {"help for an unknown command", {"help", "bogus"}, "unknown command 'bogus'"},
      {"control character", {"validate", "a\x01.yml"}, "control character"},
      {"invalid utf-8", {"validate", "caf\xc3.yml"}, "not valid UTF-8"},
      {"overlong utf-8", {"validate", "\xc0\xaf.yml"}, "not valid UTF-8"},
      {"too long", {"validate", std::string(4097, 'a')}, "longer than 4096"},
      {"provider id with a slash", {"cache", "clean", "--workspace", "--provider-id", "../x"}, "invalid --provider-id"},
      {"explicit config missing", {"--config", "nope.yml", "config", "show"}, "nope.yml"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Result r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, c.expected)) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// A stage without a program is not in the stage table: naming it is the
// same usage error as naming any other word, with the stages that exist.
TEST_F(Cli, StagesWithoutAProgramAreUnknownLikeAnyOtherName) {
  for (const std::string name : {"verity", "frobnicate"}) {
    SCOPED_TRACE(name);
    const Result r = run({"stage", name, "--request", "absent.json"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "unknown stage '" + name +
                                    "' (stages: fetcher, verifier, resolver, installer, diskmaker, isomaker, signer, inspector)"))
        << r.err;
    EXPECT_FALSE(contains(r.err, "absent.json")) << r.err;
  }
}

TEST_F(Cli, ArgumentsWithNewlinesTabsAndUnicodeAreAccepted) {
  const Result r = run({"validate", "caf\xc3\xa9\t\n.yml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(contains(r.err, "invalid argument")) << r.err;
  EXPECT_TRUE(contains(r.err, "caf\xc3\xa9")) << r.err;
}

TEST_F(Cli, VersionNamesToolVersionAndCommit) {
  const Result r = run({"version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "os-image-composer v" + kVersion + "\nBuild Date: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nCommit: ")) << r.out;
}

TEST_F(Cli, CompletionScriptsMentionEveryVerbForEachShell) {
  for (const std::string shell : {"bash", "zsh", "fish"}) {
    SCOPED_TRACE(shell);
    const Result r = run({"completion", shell});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const std::string& verb : kVerbs) EXPECT_TRUE(contains(r.out, verb)) << verb;
    for (const char* word : {"init", "show", "clean", "workers", "merged", "dry-run", "log-level"}) {
      EXPECT_TRUE(contains(r.out, word)) << word;
    }
  }
}

// The shells check the scripts' syntax without running them (where installed).
TEST_F(Cli, CompletionScriptsAreValidShellSyntax) {
  struct Case {
    std::string shell;
    std::string program;
    std::vector<std::string> check_args;
  };
  const Case cases[] = {
      {"bash", "/bin/bash", {"-n"}},
      {"zsh", "/usr/bin/zsh", {"-n"}},
      {"fish", "/usr/bin/fish", {"--no-execute"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.shell);
    if (!fs::exists(c.program)) continue;
    const Result script = run({"completion", c.shell});
    ASSERT_EQ(script.exit_code, 0);
    const fs::path file = root_ / ("completion." + c.shell);
    write_text(file, script.out);
    std::vector<std::string> args = c.check_args;
    args.push_back(file.string());
    const Result r = run(args, c.program);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
}

// Loads the bash script into bash and asks it to complete, as bash would.
TEST_F(Cli, BashCompletionCompletesVerbsGroupMembersAndFlags) {
  const Result script = run({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0);
  write_text(root_ / "completion.bash", script.out);
  struct Case {
    std::string words;  // the command line typed so far; the last word is being completed
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {"os-image-composer va", {"validate"}},
      {"os-image-composer config ", {"init", "show"}},
      {"os-image-composer cache clean --dr", {"--dry-run"}},
      {"os-image-composer --log-level debug build --sys", {"--system-packages-only"}},
      {"os-image-composer --log-level d", {"debug"}},
      {"os-image-composer completion f", {"fish"}},
      // After the template, flags of the verb are still offered.
      {"os-image-composer validate x.yml --me", {"--merged"}},
      {"os-image-composer build -w 4 t.yml --wor", {"--workers", "--work-dir"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.words);
    std::string driver = "source " + (root_ / "completion.bash").string() + "\n" +
                         "COMP_WORDS=(" + c.words + (c.words.ends_with(" ") ? "''" : "") + ")\n" +
                         "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                         "_os_image_composer\n"
                         "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
    write_text(root_ / "driver.bash", driver);
    const Result r = run({(root_ / "driver.bash").string()}, "/bin/bash");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string want;
    for (const auto& e : c.expected) want += e + "\n";
    EXPECT_EQ(r.out, want) << r.err;
  }
}

TEST_F(Cli, ConfigInitWritesAPrivateCommentedFileThatConfigShowReads) {
  const Result init = run({"config", "init", "my.yml"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const fs::path file = root_ / "cwd/my.yml";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = read_text(file);
  EXPECT_TRUE(contains(text, "# ")) << text;
  EXPECT_TRUE(contains(text, "workers: 8")) << text;

  const Result show = run({"--config", "my.yml", "config", "show"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(contains(show.out, "# Loaded from " + file.string())) << show.out;
  const YAML::Node shown = YAML::Load(show.out);
  EXPECT_EQ(shown["workers"].as<int>(), 8);
  // Root gets the system cache, everyone else the XDG one.
  const fs::path cache = ::getuid() == 0 ? fs::path("/var/cache/os-image-composer")
                                         : root_ / "home/.cache/os-image-composer";
  EXPECT_EQ(shown["cache_dir"].as<std::string>(), cache.string());
}

TEST_F(Cli, ConfigInitRefusesExistingFilesUnlessForcedAndSymlinksAlways) {
  write_text(root_ / "cwd/os-image-composer.yml", "workers: 3\n");
  Result r = run({"config", "init"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "already exists")) << r.err;
  EXPECT_EQ(read_text(root_ / "cwd/os-image-composer.yml"), "workers: 3\n");
  r = run({"config", "init", "--force"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(read_text(root_ / "cwd/os-image-composer.yml"), "workers: 8"));

  write_text(root_ / "victim.txt", "keep\n");
  fs::create_symlink(root_ / "victim.txt", root_ / "cwd/link.yml");
  r = run({"config", "init", "--force", "link.yml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "symlink")) << r.err;
  EXPECT_EQ(read_text(root_ / "victim.txt"), "keep\n");
}

TEST_F(Cli, ConfigShowFollowsTheSearchOrder) {
  Result r = run({"config", "show"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "built-in defaults")) << r.out;
  write_text(root_ / "home/.config/os-image-composer/config.yml", "workers: 4\n");
  r = run({"config", "show"});
  EXPECT_EQ(YAML::Load(r.out)["workers"].as<int>(), 4) << r.out;
  write_text(root_ / "cwd/.os-image-composer.yml", "workers: 5\n");
  r = run({"config", "show"});
  EXPECT_EQ(YAML::Load(r.out)["workers"].as<int>(), 5) << r.out;
  EXPECT_TRUE(contains(r.out, (root_ / "cwd/.os-image-composer.yml").string())) << r.out;
}

TEST_F(Cli, InvalidConfigFileIsReportedWithItsPosition) {
  write_text(root_ / "cwd/os-image-composer.yml", "workers: 4\ncache_dri: /x\n");
  const Result r = run({"config", "show"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "os-image-composer.yml:2:1: unknown key 'cache_dri' (did you mean 'cache_dir'?)"))
      << r.err;
}

TEST_F(Cli, OutputNamesFromTheConfigFileAreShownAndCheckedWithTheirPosition) {
  write_text(root_ / "cwd/os-image-composer.yml", "output_names: reference\n");
  Result r = run({"config", "show"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(YAML::Load(r.out)["output_names"].as<std::string>(), "reference") << r.out;
  write_text(root_ / "cwd/os-image-composer.yml", "output_names: go\n");
  r = run({"config", "show"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "os-image-composer.yml:1:15: output_names must be 'own' or 'reference'")) << r.err;
}

// A cache directory that cannot be made is named with the reason, not
// reported as the library's bare "filesystem error".
TEST_F(Cli, ACacheDirectoryThatCannotBeMadeIsNamedWithTheReason) {
  write_text(root_ / "a-file", "x");
  write_text(root_ / "cwd/os-image-composer.yml", "cache_dir: " + (root_ / "a-file/cache").string() + "\n");
  const Result r = run({"lock", (kSource / "image-templates/debian12-x86_64-minimal-raw.yml").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "'" + (root_ / "a-file").string())) << r.err;
  EXPECT_TRUE(contains(r.err, "Not a directory")) << r.err;
  EXPECT_FALSE(contains(r.err, "unexpected failure")) << r.err;
}

class CacheClean : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    cache_ = root_ / "cache";
    work_ = root_ / "work";
    write_text(root_ / "cwd/os-image-composer.yml",
               "cache_dir: " + cache_.string() + "\nwork_dir: " + work_.string() + "\n");
    write_text(cache_ / "packages/ab/abcdef", "deb");
    write_text(work_ / "debian-debian12-x86_64/builds/build-a1b2c3/root/etc/os-release", "x");
    write_text(work_ / "debian-debian12-x86_64/imagebuild/disk.raw", "x");
    write_text(work_ / "azure-linux-azl3-x86_64/builds/build-d4e5f6/root/etc/os-release", "x");
    write_text(work_ / "azure-linux-azl3-x86_64/imagebuild/disk.raw", "x");
    // Something outside the cache that a symlink inside it points to.
    write_text(root_ / "outside/precious", "keep");
    fs::create_directory_symlink(root_ / "outside", cache_ / "packages/ab/link");
  }
  fs::path cache_;
  fs::path work_;
};

TEST_F(CacheClean, DryRunListsWithoutRemoving) {
  const Result r = run({"cache", "clean", "--all", "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Would remove:\n  " + (cache_ / "packages").string() + "\n")) << r.out;
  EXPECT_TRUE(contains(r.out, (work_ / "debian-debian12-x86_64/builds").string())) << r.out;
  EXPECT_TRUE(contains(r.out, "Skipped (not found):\n  " + (cache_ / "metadata").string())) << r.out;
  EXPECT_TRUE(contains(r.out, (work_ / "azure-linux-azl3-x86_64/builds").string())) << r.out;
  EXPECT_FALSE(contains(r.out, "imagebuild")) << r.out;
  EXPECT_TRUE(fs::exists(cache_ / "packages/ab/abcdef"));
  EXPECT_TRUE(fs::exists(work_ / "debian-debian12-x86_64/builds/build-a1b2c3/root/etc/os-release"));
}

// The paths listed under `title` in the output of `cache clean`.
std::vector<std::string> listed(const std::string& out, const std::string& title) {
  std::vector<std::string> paths;
  std::istringstream in(out);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("  ")) inside = line == title;
    else if (inside) paths.push_back(line.substr(2));
  }
  return paths;
}

TEST_F(CacheClean, DryRunListsExactlyWhatTheRunThenRemoves) {
  const Result dry = run({"cache", "clean", "--all", "--outputs", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  const std::vector<std::string> would = listed(dry.out, "Would remove:");
  EXPECT_EQ(would.size(), 5u) << dry.out;  // packages/, and builds/ and imagebuild/ of both providers
  for (const std::string& p : would) EXPECT_TRUE(fs::exists(fs::symlink_status(p))) << p;
  const Result done = run({"cache", "clean", "--all", "--outputs"});
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(listed(done.out, "Removed paths:"), would) << done.out;
  for (const std::string& p : would) EXPECT_FALSE(fs::exists(fs::symlink_status(p))) << p;
}

TEST_F(CacheClean, WorkspaceKeepsFinishedImages) {
  const Result r = run({"cache", "clean", "--workspace"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(work_ / "debian-debian12-x86_64/imagebuild/disk.raw"), "x");
  EXPECT_EQ(read_text(work_ / "azure-linux-azl3-x86_64/imagebuild/disk.raw"), "x");
  EXPECT_FALSE(fs::exists(work_ / "debian-debian12-x86_64/builds"));
  EXPECT_FALSE(fs::exists(work_ / "azure-linux-azl3-x86_64/builds"));
  EXPECT_TRUE(fs::exists(cache_ / "packages/ab/abcdef"));
  const Result all = run({"cache", "clean", "--all"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(read_text(work_ / "debian-debian12-x86_64/imagebuild/disk.raw"), "x");
}

TEST_F(CacheClean, ProviderIdAloneTakesThatProvidersPackagesAndEnvironmentOnly) {
  const std::string mine(64, 'a'), theirs(64, 'b');
  write_text(cache_ / "packages/sha256/aa" / mine, "deb");
  write_text(cache_ / "packages/sha256/bb" / theirs, "deb");
  write_text(cache_ / "used-by/debian-debian12-x86_64", mine + "\n");
  write_text(cache_ / "used-by/azure-linux-azl3-x86_64", theirs + "\n");
  write_text(cache_ / "buildenv" / std::string(64, '1') / "provider", "debian-debian12-x86_64\n");
  write_text(cache_ / "buildenv" / std::string(64, '2') / "provider", "azure-linux-azl3-x86_64\n");
  const Result r = run({"cache", "clean", "--provider-id", "debian-debian12-x86_64"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(cache_ / "packages/sha256/aa" / mine)) << r.out;
  EXPECT_FALSE(fs::exists(cache_ / "buildenv" / std::string(64, '1'))) << r.out;
  EXPECT_TRUE(fs::exists(cache_ / "packages/sha256/bb" / theirs));
  EXPECT_TRUE(fs::exists(cache_ / "buildenv" / std::string(64, '2') / "provider"));
  EXPECT_TRUE(fs::exists(cache_ / "packages/ab/abcdef"));
  EXPECT_TRUE(fs::exists(work_ / "debian-debian12-x86_64/builds/build-a1b2c3"));
  EXPECT_TRUE(fs::exists(work_ / "debian-debian12-x86_64/imagebuild/disk.raw"));
}

TEST_F(CacheClean, PackagesIsTheDefaultAndSymlinksAreNotFollowed) {
  const Result r = run({"cache", "clean"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Removed paths:\n  " + (cache_ / "packages").string())) << r.out;
  EXPECT_FALSE(fs::exists(cache_ / "packages"));
  EXPECT_TRUE(fs::exists(cache_));
  EXPECT_EQ(read_text(root_ / "outside/precious"), "keep");
  EXPECT_TRUE(fs::exists(work_ / "debian-debian12-x86_64/imagebuild/disk.raw"));
}

TEST_F(CacheClean, ProviderIdNarrowsTheWorkspace) {
  const Result r = run({"cache", "clean", "--workspace", "--provider-id", "debian-debian12-x86_64"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(work_ / "debian-debian12-x86_64/builds"));
  EXPECT_TRUE(fs::exists(work_ / "debian-debian12-x86_64/imagebuild/disk.raw"));
  EXPECT_TRUE(fs::exists(work_ / "azure-linux-azl3-x86_64/builds/build-d4e5f6"));
  EXPECT_TRUE(fs::exists(cache_ / "packages/ab/abcdef"));
}

TEST_F(CacheClean, ASymlinkedProviderDirectoryIsNotEntered) {
  write_text(root_ / "outside/builds/precious", "keep");
  fs::create_directory_symlink(root_ / "outside", work_ / "evil");
  const Result r = run({"cache", "clean", "--workspace"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(root_ / "outside/builds/precious"), "keep");
  EXPECT_FALSE(fs::exists(work_ / "azure-linux-azl3-x86_64/builds"));
}

// Templates in the source tree, validated against the fake OS data the
// template tests use.
class Validate : public Cli {
 protected:
  void SetUp() override {
    Cli::SetUp();
    env_["OIC_CONFIG_DIR"] = (kSource / "tests/data/config-fake").string();
  }
  const fs::path good_ = kSource / "tests/data/templates/minimal-raw.yml";
};

TEST_F(Validate, AcceptsAGoodTemplateAndLogsASummary) {
  const Result r = run({"validate", good_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(contains(r.err, "debian12-x86_64-minimal")) << r.err;
  EXPECT_TRUE(contains(r.err, "debian/debian12/x86_64")) << r.err;
  EXPECT_TRUE(contains(r.err, "packages")) << r.err;
  EXPECT_TRUE(contains(r.err, "is valid")) << r.err;
}

// A key this version cannot build as asked: validate says so, build refuses
// before fetching anything (a mutable image is not what `enabled: true`
// asks for, and systemd-boot without a UKI has no signed place for the root
// hash).
TEST_F(Validate, ImmutabilityIsAWarningInValidateAndARefusalInBuild) {
  const fs::path tpl = root_ / "cwd/immutable.yml";
  write_text(tpl, "image: {name: immutable, version: \"1.0.0\"}\n"
                  "target: {os: debian, dist: debian12, arch: x86_64, imageType: raw}\n"
                  "systemConfig:\n  name: immutable\n  bootloader: {provider: systemd-boot}\n  kernel: {uki: false}\n"
                  "  immutability:\n    enabled: true\n");
  for (const bool merged : {false, true}) {
    SCOPED_TRACE(merged ? "--merged" : "plain");
    const Result r = merged ? run({"validate", "--merged", tpl.string()}) : run({"validate", tpl.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(contains(r.err, "build would refuse systemConfig.immutability.enabled")) << r.err;
  }
  write_text(root_ / "cwd/os-image-composer.yml", "cache_dir: " + (root_ / "cache").string() + "\nwork_dir: " +
                                                      (root_ / "work").string() + "\n");
  const Result r = run({"build", tpl.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "cannot build")) << r.err;
  EXPECT_TRUE(contains(r.err, "dm-verity")) << r.err;
  EXPECT_FALSE(fs::exists(root_ / "cache")) << "nothing fetched";
}

TEST_F(Validate, MergedPrintsYamlThatParses) {
  const Result r = run({"validate", "--merged", good_.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const YAML::Node merged = YAML::Load(r.out);
  EXPECT_EQ(merged["target"]["os"].as<std::string>(), "debian");
  EXPECT_EQ(merged["image"]["name"].as<std::string>(), "debian12-x86_64-minimal");
  // The default contributes the disk layout the user template leaves out.
  EXPECT_TRUE(merged["disk"]["partitions"].IsSequence()) << r.out;
  EXPECT_TRUE(merged["systemConfig"]["packages"].IsSequence()) << r.out;
}

TEST_F(Validate, LogFileGetsACopyAndIsOverwrittenEachRun) {
  const fs::path log = root_ / "run.log";
  for (int i = 0; i < 2; ++i) {
    const Result r = run({"--log-file", log.string(), "validate", good_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string text = read_text(log);
  const auto first = text.find("is valid");
  EXPECT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("is valid", first + 1), std::string::npos) << "appended instead of overwritten:\n" << text;
}

TEST_F(Validate, VerboseAddsDebugLines) {
  const Result quiet = run({"validate", "--merged", good_.string()});
  const Result verbose = run({"-v", "validate", "--merged", good_.string()});
  EXPECT_FALSE(contains(quiet.err, "debug:")) << quiet.err;
  EXPECT_TRUE(contains(verbose.err, "debug:")) << verbose.err;
}

// The first line of each file in tests/data/broken is "# expect: <substring>";
// files named merged-* are only wrong after merging, so they run with --merged.
TEST_F(Validate, EveryBrokenTemplateExitsTwoWithItsExpectedMessage) {
  const fs::path dir = kSource / "tests/data/broken";
  if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " does not exist yet";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::string first_line;
    std::ifstream in(file);
    std::getline(in, first_line);
    const std::string prefix = "# expect: ";
    ASSERT_TRUE(first_line.starts_with(prefix)) << first_line;
    std::vector<std::string> args = {"validate", file.string()};
    if (file.filename().string().starts_with("merged-")) args.insert(args.begin() + 1, "--merged");
    const Result r = run(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, first_line.substr(prefix.size()))) << r.err;
  }
}

TEST_F(Validate, BuildAndLockRejectAnInvalidTemplateBeforeBuilding) {
  const fs::path broken = kSource / "tests/data/broken/missing-target.yml";
  if (!fs::exists(broken)) GTEST_SKIP() << broken << " does not exist yet";
  for (const char* verb : {"build", "lock"}) {
    SCOPED_TRACE(verb);
    const Result r = run({verb, broken.string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, broken.string())) << r.err;
  }
}

}  // namespace

namespace {

// Golden files: tests/golden/<template>.merged.yml is what `validate --merged`
// prints for image-templates/<template>.yml. A change to defaults, merge rules
// or the emitter shows up here as a diff. To accept a deliberate change:
//   OIC_UPDATE_GOLDEN=1 meson test -C build cli
TEST_F(Validate, MergedOutputOfEverySampleTemplateMatchesItsGoldenFile) {
  const bool update = std::string(env_or_empty("OIC_UPDATE_GOLDEN")) == "1";
  std::vector<fs::path> templates;
  for (const auto& entry : fs::directory_iterator(kSource / "image-templates")) {
    if (entry.path().extension() == ".yml") templates.push_back(entry.path());
  }
  std::sort(templates.begin(), templates.end());
  ASSERT_GE(templates.size(), 13u);
  // The real per-OS data, not this fixture's fake one.
  const fs::path config = root_ / "real-config.yml";
  write_text(config, "config_dir: " + (kSource / "config").string() + "\n");
  for (const auto& path : templates) {
    SCOPED_TRACE(path.filename().string());
    const Result r = run({"--config", config.string(), "validate", "--merged", path.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const fs::path golden = kSource / "tests/golden" / (path.stem().string() + ".merged.yml");
    if (update) {
      write_text(golden, r.out);
      continue;
    }
    ASSERT_TRUE(fs::exists(golden)) << "no golden file " << golden << " (run with OIC_UPDATE_GOLDEN=1)";
    EXPECT_EQ(r.out, read_text(golden));
  }
}

}  // namespace
