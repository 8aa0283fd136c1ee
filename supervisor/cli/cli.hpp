// The command line: global flags, a table of verbs, and how errors become
// exit codes. Each verb is a row (name, arguments, flags, handler); the
// handlers live in cmd_*.cpp and are wired into the table in cli.cpp.
#pragma once

#include <boost/program_options.hpp>

#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/global_config.hpp"
#include "supervisor/log.hpp"

namespace supervisor::cli {

namespace po = boost::program_options;

inline constexpr std::string_view kProgram = "os-image-composer";

// Exit codes, also listed in --help and docs/cli.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the build or another runtime step failed
inline constexpr int kExitUsage = 2;    // bad flag or argument, invalid template or config

// Longest argument accepted, in characters, as in the reference tool.
inline constexpr std::size_t kMaxArgumentLength = 4096;

struct Verb;

// What a verb handler gets: its parsed flags and arguments, the effective
// global config, the log and where its regular output goes.
struct Invocation {
  const po::variables_map& options;
  const std::vector<std::string>& args;
  const config::GlobalConfig& global;
  Logger& log;
  std::ostream& out;
  std::span<const Verb> verbs;  // the whole table (completion lists it)
};

struct Verb {
  std::string_view name;        // "validate", or "config init" for a group member
  std::string_view arguments;   // usage text for the positional arguments: "TEMPLATE"
  std::string_view summary;     // one line for the verb list
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  void (*add_options)(po::options_description& options) = nullptr;
  int (*run)(const Invocation& invocation) = nullptr;
  // False for verbs that must work even with a broken config file.
  bool loads_config = true;
};

// The rows, in the order `--help` lists them.
std::vector<Verb> verb_table();

// The flags every verb accepts (--config, --log-level, --log-file, -v, -h).
po::options_description global_options();

// The verb's own flags (empty when it has none).
po::options_description verb_options(const Verb& verb);

// Why `arg` is not accepted (invalid UTF-8, a control character other than
// newline and tab, longer than kMaxArgumentLength characters), or nullopt.
std::optional<std::string> argument_problem(std::string_view arg);

// `args` with every `--name=VALUE` (or `-n=VALUE`) of a boolean flag of `options` written as
// the switch alone (VALUE true) or dropped (VALUE false), as Go's flag
// package reads them: 1, t, T, TRUE, true, True and their false
// counterparts. Any other VALUE is a usage error naming the flag. Stops at "--".
std::vector<std::string> bool_flag_args(const std::vector<std::string>& args, const po::options_description& options);

// Runs one command line (without the program name) and returns the exit code.
int run(const std::vector<std::string>& args, std::ostream& out);

// Verb rows, defined beside their handlers.
std::vector<Verb> template_verbs();    // cmd_template.cpp: build, validate, lock, fetch
std::vector<Verb> config_verbs();      // cmd_config.cpp: config init, config show
std::vector<Verb> cache_verbs();       // cmd_cache.cpp: cache clean
std::vector<Verb> version_verbs();     // cmd_version.cpp: version
std::vector<Verb> completion_verbs();  // cmd_completion.cpp: completion
std::vector<Verb> stage_verbs();       // cmd_stage.cpp: stage
std::vector<Verb> boot_verbs();        // cmd_boot.cpp: boot
std::vector<Verb> verify_verbs();      // cmd_verify.cpp: verify
std::vector<Verb> inspect_verbs();     // cmd_inspect.cpp: inspect
std::vector<Verb> compare_verbs();     // cmd_compare.cpp: compare

}  // namespace supervisor::cli
