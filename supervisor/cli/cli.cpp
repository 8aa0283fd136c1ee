#include "supervisor/cli/cli.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "base/error.hpp"

namespace supervisor::cli {
namespace {

// Flags are matched exactly: a prefix such as "--c" must not silently pick one.
constexpr int kParseStyle = po::command_line_style::default_style &
                            ~po::command_line_style::allow_guessing;

constexpr unsigned kHelpWidth = 100;

constexpr std::string_view kExitCodeHelp =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the build or another runtime step failed\n"
    "  2  usage error, or an invalid template or config file\n";

[[noreturn]] void usage_error(std::string message, std::string_view verb = {}) {
  std::string hint = "run '" + std::string(kProgram);
  if (!verb.empty()) hint += " " + std::string(verb);
  hint += " --help' for usage";
  throw base::Error(base::ErrorKind::kInvalidInput, std::move(message)).with_hint(std::move(hint));
}

std::string verb_group(std::string_view name) {
  const auto space = name.find(' ');
  return std::string(space == std::string_view::npos ? name : name.substr(0, space));
}

bool is_group(std::span<const Verb> verbs, std::string_view word) {
  return std::any_of(verbs.begin(), verbs.end(), [&](const Verb& v) {
    return v.name.size() > word.size() && v.name.starts_with(word) && v.name[word.size()] == ' ';
  });
}

std::string group_members(std::span<const Verb> verbs, std::string_view group) {
  std::string names;
  for (const Verb& v : verbs) {
    if (verb_group(v.name) == group && v.name != group) names += (names.empty() ? "" : ", ") + std::string(v.name);
  }
  return names;
}

void print_verb_list(std::ostream& out, std::span<const Verb> verbs, std::string_view group) {
  for (const Verb& v : verbs) {
    if (!group.empty() && verb_group(v.name) != group) continue;
    std::string left = std::string(v.name);
    if (!v.arguments.empty()) left += " " + std::string(v.arguments);
    out << "  " << left;
    out << std::string(left.size() < 34 ? 34 - left.size() : 1, ' ') << v.summary << "\n";
  }
}

void print_general_help(std::ostream& out, std::span<const Verb> verbs) {
  out << "Usage: " << kProgram << " [global options] <command> [options] [arguments]\n\n"
      << "Builds a bootable OS image from a YAML image template and a distribution's\n"
      << "pre-built packages, without root privileges.\n\nCommands:\n";
  print_verb_list(out, verbs, {});
  out << "\n" << global_options() << "\n" << kExitCodeHelp
      << "\nRun '" << kProgram << " <command> --help' for the flags of one command.\n";
}

void print_verb_help(std::ostream& out, const Verb& verb) {
  out << "Usage: " << kProgram << " " << verb.name;
  if (!verb.arguments.empty()) out << " " << verb.arguments;
  out << " [options]\n\n" << verb.summary << "\n\n";
  const po::options_description own = verb_options(verb);
  if (!own.options().empty()) out << own << "\n";
  out << global_options() << "\n" << kExitCodeHelp;
}

void print_group_help(std::ostream& out, std::span<const Verb> verbs, std::string_view group) {
  out << "Usage: " << kProgram << " " << group << " <command> [options]\n\nCommands:\n";
  print_verb_list(out, verbs, group);
}

// Where a command line's verb is and what follows it.
struct VerbMatch {
  const Verb* verb = nullptr;
  std::string group;               // set when only a group name was given
  std::vector<std::string> rest;   // flags and arguments after the verb words
};

VerbMatch match_verb(std::span<const Verb> verbs, const std::vector<std::string>& words) {
  VerbMatch match;
  if (words.empty()) return match;
  if (words[0].starts_with("-")) usage_error("unknown flag '" + words[0] + "'");
  std::string name = words[0];
  std::size_t used = 1;
  if (is_group(verbs, name)) {
    if (words.size() < 2 || words[1].starts_with("-")) {
      match.group = name;
      match.rest.assign(words.begin() + 1, words.end());
      return match;
    }
    name += " " + words[1];
    used = 2;
  }
  auto it = std::find_if(verbs.begin(), verbs.end(), [&](const Verb& v) { return v.name == name; });
  if (it == verbs.end() && used == 2) {
    usage_error("unknown command '" + name + "' (expected one of: " + group_members(verbs, words[0]) + ")", words[0]);
  }
  if (it == verbs.end()) usage_error("unknown command '" + name + "'");
  match.verb = &*it;
  match.rest.assign(words.begin() + static_cast<std::ptrdiff_t>(used), words.end());
  return match;
}

// `help [COMMAND]`: what `COMMAND --help` (or `--help` alone) prints.
int run_help(const Invocation& inv) {
  if (inv.args.empty()) {
    print_general_help(inv.out, inv.verbs);
    return kExitOk;
  }
  const VerbMatch match = match_verb(inv.verbs, inv.args);
  if (match.verb == nullptr) {
    print_group_help(inv.out, inv.verbs, match.group);
  } else if (!match.rest.empty()) {
    usage_error("unknown command '" + std::string(match.verb->name) + " " + match.rest[0] + "'", "help");
  } else {
    print_verb_help(inv.out, *match.verb);
  }
  return kExitOk;
}

// Go's strconv.ParseBool: the spellings a Go tool's `--flag=VALUE` accepts.
std::optional<bool> parse_go_bool(std::string_view value) {
  for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (value == yes) return true;
  }
  for (std::string_view no : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (value == no) return false;
  }
  return std::nullopt;
}

// Applies --log-level, --verbose and --log-file over the config's logging keys.
void configure_log(const po::variables_map& globals, config::GlobalConfig& global, Logger& log) {
  if (globals.count("log-level")) {
    const std::string level = globals["log-level"].as<std::string>();
    if (!config::is_log_level(level)) {
      usage_error("invalid --log-level '" + level + "' (expected debug, info, warn or error)");
    }
    global.log_level = level;
  }
  if (globals["verbose"].as<bool>()) global.log_level = "debug";
  if (globals.count("log-file")) global.log_file = globals["log-file"].as<std::string>();
  log.set_level(parse_log_level(global.log_level).value_or(LogLevel::kInfo));
  if (!global.log_file.empty()) log.tee_to(global.log_file);
}

int run_verb(const Verb& verb, const po::variables_map& globals, const std::vector<std::string>& rest,
             std::span<const Verb> verbs, Logger& log, std::ostream& out) {
  po::options_description own = verb_options(verb);
  const std::vector<std::string> flags = bool_flag_args(rest, own);
  po::options_description hidden;
  hidden.add_options()("args", po::value<std::vector<std::string>>(), "");
  po::options_description all;
  all.add(own).add(hidden);
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map options;
  try {
    po::store(po::command_line_parser(flags).options(all).positional(positional).style(kParseStyle).run(),
              options);
    po::notify(options);
  } catch (const po::error& e) {
    usage_error(e.what(), verb.name);
  }
  std::vector<std::string> args;
  if (options.count("args")) args = options["args"].as<std::vector<std::string>>();
  if (args.size() < verb.min_args || args.size() > verb.max_args) {
    std::string expected = verb.arguments.empty() ? "no arguments" : std::string(verb.arguments);
    usage_error("'" + std::string(verb.name) + "' takes " + expected + ", got " +
                    std::to_string(args.size()) + " argument(s)",
                verb.name);
  }
  const config::Environment env = config::Environment::from_process();
  std::optional<std::filesystem::path> explicit_config;
  if (globals.count("config")) explicit_config = globals["config"].as<std::string>();
  config::GlobalConfig global = verb.loads_config ? config::load_global_config(explicit_config, env)
                                                  : config::default_global_config(env);
  configure_log(globals, global, log);
  for (const auto& warning : global.warnings) log.warn(warning);
  if (!global.source.empty()) log.debug("Using config file '" + global.source.string() + "'");
  return verb.run(Invocation{options, args, global, log, out, verbs});
}

int dispatch(const std::vector<std::string>& args, std::span<const Verb> verbs, Logger& log,
             std::ostream& out) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (auto problem = argument_problem(args[i])) {
      usage_error("invalid argument " + std::to_string(i + 1) + ": " + *problem);
    }
  }
  po::options_description globals_desc = global_options();
  const std::vector<std::string> flags = bool_flag_args(args, globals_desc);
  po::variables_map globals;
  po::parsed_options parsed = [&] {
    try {
      return po::command_line_parser(flags).options(globals_desc).style(kParseStyle)
          .allow_unregistered().run();
    } catch (const po::error& e) {
      usage_error(e.what());
    }
  }();
  po::store(parsed, globals);
  const VerbMatch match =
      match_verb(verbs, po::collect_unrecognized(parsed.options, po::include_positional));
  const bool help = globals["help"].as<bool>();
  if (match.verb == nullptr && match.group.empty()) {
    if (!help) usage_error("missing command");
    print_general_help(out, verbs);
    return kExitOk;
  }
  if (match.verb == nullptr) {
    if (!help && !match.rest.empty()) usage_error("unknown flag '" + match.rest[0] + "'", match.group);
    if (!help) usage_error("'" + match.group + "' needs a command: " + group_members(verbs, match.group), match.group);
    print_group_help(out, verbs, match.group);
    return kExitOk;
  }
  if (help) {
    print_verb_help(out, *match.verb);
    return kExitOk;
  }
  return run_verb(*match.verb, globals, match.rest, verbs, log, out);
}

}  // namespace

std::vector<Verb> verb_table() {
  std::vector<Verb> table;
  for (auto group : {template_verbs(), config_verbs(), cache_verbs(), version_verbs(),
                     completion_verbs(), stage_verbs(), boot_verbs(), verify_verbs(), inspect_verbs(), compare_verbs()}) {
    table.insert(table.end(), group.begin(), group.end());
  }
  table.push_back(Verb{.name = "help", .arguments = "[COMMAND]",
                       .summary = "Print the help of a command (same as COMMAND --help), or this help",
                       .max_args = 2, .run = run_help, .loads_config = false});
  return table;
}

std::vector<std::string> bool_flag_args(const std::vector<std::string>& args, const po::options_description& options) {
  std::vector<std::string> out;
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (*it == "--") {
      out.insert(out.end(), it, args.end());
      break;
    }
    const std::size_t equals = it->find('=');
    const bool is_long = it->starts_with("--") && equals != std::string::npos;
    const bool is_short = !is_long && it->size() > 2 && (*it)[0] == '-' && equals == 2;  // "-v=true"
    const po::option_description* option =
        is_long ? options.find_nothrow(it->substr(2, equals - 2), false, false, false)
        : is_short ? options.find_nothrow(it->substr(0, 2), false, false, false)
                   : nullptr;
    if (option == nullptr || option->semantic()->max_tokens() != 0) {
      out.push_back(*it);
      continue;
    }
    const std::string flag = it->substr(0, equals);
    const std::optional<bool> value = parse_go_bool(std::string_view(*it).substr(equals + 1));
    if (!value) {
      usage_error("invalid value '" + it->substr(equals + 1) + "' for " + flag + " (expected true or false)");
    }
    if (*value) out.push_back(flag);
  }
  return out;
}

po::options_description global_options() {
  po::options_description options("Global options", kHelpWidth, kHelpWidth / 2);
  options.add_options()
      ("config", po::value<std::string>()->value_name("FILE"),
       "global config file (default: the first found of ./os-image-composer.yml, "
       "~/.config/os-image-composer/config.yml, /etc/os-image-composer/config.yml)")
      ("log-level", po::value<std::string>()->value_name("LEVEL"), "debug, info, warn or error")
      ("log-file", po::value<std::string>()->value_name("PATH"), "also write the log to PATH (overwritten)")
      ("verbose,v", po::bool_switch(), "same as --log-level debug")
      ("help,h", po::bool_switch(), "show help");
  return options;
}

po::options_description verb_options(const Verb& verb) {
  po::options_description options("Options", kHelpWidth, kHelpWidth / 2);
  if (verb.add_options != nullptr) verb.add_options(options);
  return options;
}

std::optional<std::string> argument_problem(std::string_view arg) {
  std::size_t characters = 0;
  for (std::size_t i = 0; i < arg.size(); ++characters) {
    const auto lead = static_cast<unsigned char>(arg[i]);
    const std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3
                               : (lead >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > arg.size()) return "it is not valid UTF-8";
    std::uint32_t code = length == 1 ? lead : lead & (0x7F >> length);
    for (std::size_t k = 1; k < length; ++k) {
      const auto cont = static_cast<unsigned char>(arg[i + k]);
      if ((cont & 0xC0) != 0x80) return "it is not valid UTF-8";
      code = (code << 6) | (cont & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid UTF-8.
    static constexpr std::uint32_t kMinCode[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinCode[length] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return "it is not valid UTF-8";
    }
    if ((code < 0x20 && code != '\n' && code != '\t') || code == 0x7F) {
      return "it contains a control character";
    }
    i += length;
  }
  if (characters > kMaxArgumentLength) {
    return "it is longer than " + std::to_string(kMaxArgumentLength) + " characters";
  }
  return std::nullopt;
}

int run(const std::vector<std::string>& args, std::ostream& out) {
  Logger log;
  const std::vector<Verb> verbs = verb_table();
  try {
    return dispatch(args, verbs, log, out);
  } catch (const base::Error& e) {
    log.error(e.what());
    return e.kind() == base::ErrorKind::kInvalidInput ? kExitUsage : kExitFailure;
  } catch (const po::error& e) {
    log.error(e.what());
    return kExitUsage;
  } catch (const std::filesystem::filesystem_error& e) {
    // A file system call without its own message: name the path and the reason.
    std::string paths = "'" + e.path1().string() + "'";
    if (!e.path2().empty()) paths += " and '" + e.path2().string() + "'";
    log.error("Failed on " + paths + ": " + e.code().message() + " (" + e.what() + ")");
    return kExitFailure;
  } catch (const std::exception& e) {
    log.error(std::string("unexpected failure: ") + e.what());
    return kExitFailure;
  }
}

}  // namespace supervisor::cli
