// Shell completion scripts generated from the verb table and each verb's
// flags, so they cannot drift from the parser.
#include "supervisor/cli/completion_scripts.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "base/error.hpp"

namespace supervisor::cli {
namespace {

struct Flag {
  std::string long_name;   // "workers"
  char short_name = 0;     // 'w', or 0
  bool takes_value = false;
  std::string value_name;  // "N", "FILE", "DIR", "LEVEL"...
  std::string help;
};

std::vector<Flag> flags_of(const po::options_description& options) {
  std::vector<Flag> flags;
  for (const auto& option : options.options()) {
    Flag f;
    f.long_name = option->long_name();
    const std::string shorter = option->canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (shorter.size() == 2 && shorter[0] == '-') f.short_name = shorter[1];
    f.takes_value = option->semantic()->max_tokens() > 0;
    f.value_name = option->semantic()->name();
    f.help = option->description();
    flags.push_back(std::move(f));
  }
  return flags;
}

// Keeps descriptions inside any shell's single quotes and zsh's [...] specs.
std::string plain(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\'' || c == '[' || c == ']' || c == ':' || c == '\\' || c == '"' || c == '`' || c == '$') {
      continue;
    }
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

bool is_path_value(const Flag& f) {
  return f.value_name == "FILE" || f.value_name == "DIR" || f.value_name == "PATH";
}

// The words a verb is reached by: {"build"} or {"config", "init"}.
std::vector<std::string> words_of(const Verb& v) {
  std::vector<std::string> words;
  std::istringstream in{std::string(v.name)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::vector<std::string> top_words(std::span<const Verb> verbs) {
  std::vector<std::string> words;
  for (const Verb& v : verbs) {
    const std::string first = words_of(v)[0];
    if (std::find(words.begin(), words.end(), first) == words.end()) words.push_back(first);
  }
  return words;
}

std::string join_flags(const std::vector<Flag>& flags) {
  std::string out;
  for (const Flag& f : flags) {
    out += " --" + f.long_name;
    if (f.short_name != 0) out += std::string(" -") + f.short_name;
  }
  return out.empty() ? out : out.substr(1);
}

// What a verb's positional arguments are: command names, files, or nothing.
std::string argument_kind(const Verb& v) {
  if (v.name == "help") return "command";
  return v.max_args > 0 ? "file" : "none";
}

// The values a flag takes from a fixed set, space-separated, or "".
std::string choices_of(const Flag& f) {
  if (!f.takes_value) return "";  // `stage --shell` is a switch
  if (f.long_name == "log-level") return "debug info warn error";
  if (f.long_name == "shell") return "bash zsh fish powershell";
  if (f.long_name == "output-names") return "own reference";
  return "";
}

// A flag with a fixed set of values, and the verb it belongs to ("" for a global flag).
struct ChoiceFlag {
  std::string verb;
  std::string flag;  // "--shell"
  std::string choices;
};

std::vector<ChoiceFlag> choice_flags(std::span<const Verb> verbs) {
  std::vector<ChoiceFlag> out;
  for (const Flag& f : flags_of(global_options())) {
    if (!choices_of(f).empty()) out.push_back({"", "--" + f.long_name, choices_of(f)});
  }
  for (const Verb& v : verbs) {
    for (const Flag& f : flags_of(verb_options(v))) {
      if (!choices_of(f).empty()) out.push_back({std::string(v.name), "--" + f.long_name, choices_of(f)});
    }
  }
  return out;
}

std::string joined_top_words(std::span<const Verb> verbs) {
  std::string out;
  for (const std::string& w : top_words(verbs)) out += (out.empty() ? "" : " ") + w;
  return out;
}

// "--a|-a|--b" for every flag (global or any verb's) that `pick` selects.
template <typename Pick>
std::string bash_alternatives(std::span<const Verb> verbs, Pick pick) {
  std::vector<Flag> flags = flags_of(global_options());
  for (const Verb& v : verbs) {
    const std::vector<Flag> own = flags_of(verb_options(v));
    flags.insert(flags.end(), own.begin(), own.end());
  }
  std::vector<std::string> names;
  for (const Flag& f : flags) {
    if (!pick(f)) continue;
    names.push_back("--" + f.long_name);
    if (f.short_name != 0) names.push_back(std::string("-") + f.short_name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : "|") + n;
  return out;
}

// "config cache": the words that need a second word to name a verb.
std::string bash_groups(std::span<const Verb> verbs) {
  std::string groups;
  for (const std::string& w : top_words(verbs)) {
    const bool is_group = std::any_of(verbs.begin(), verbs.end(), [&](const Verb& v) {
      const auto words = words_of(v);
      return words.size() == 2 && words[0] == w;
    });
    if (is_group) groups += (groups.empty() ? "" : " ") + w;
  }
  return groups;
}

// One case arm per verb and per group (which completes its members).
std::string bash_verb_cases(std::span<const Verb> verbs) {
  std::ostringstream s;
  s << "    \"\") COMPREPLY=($(compgen -W \"";
  for (const std::string& w : top_words(verbs)) s << w << " ";
  s << "$global_flags\" -- \"$cur\")) ;;\n";
  for (const std::string& group : top_words(verbs)) {
    std::string members;
    for (const Verb& v : verbs) {
      const auto words = words_of(v);
      if (words.size() == 2 && words[0] == group) members += " " + words[1];
    }
    if (!members.empty()) {
      s << "    " << group << ") COMPREPLY=($(compgen -W \"" << members.substr(1) << "\" -- \"$cur\")) ;;\n";
    }
  }
  for (const Verb& v : verbs) {
    s << "    \"" << v.name << "\")\n"
      << "      if [[ \"$cur\" == -* ]]; then\n"
      << "        COMPREPLY=($(compgen -W \"" << join_flags(flags_of(verb_options(v)))
      << " $global_flags\" -- \"$cur\"))\n";
    const std::string kind = argument_kind(v);
    if (kind == "command") s << "      else COMPREPLY=($(compgen -W \"" << joined_top_words(verbs) << "\" -- \"$cur\"))\n";
    if (kind == "file") s << "      else COMPREPLY=($(compgen -f -- \"$cur\"))\n";
    s << "      fi ;;\n";
  }
  return s.str();
}

// One case arm per flag whose values are a fixed set; a verb's flag only
// after that verb.
std::string bash_choice_cases(std::span<const Verb> verbs) {
  std::map<std::string, std::string> arms;  // flag -> body
  for (const ChoiceFlag& c : choice_flags(verbs)) {
    const std::string reply = "COMPREPLY=($(compgen -W \"" + c.choices + "\" -- \"$cur\")); return";
    arms[c.flag] += c.verb.empty() ? " " + reply + ";"
                                   : " [[ \"$verb\" == \"" + c.verb + "\" ]] && { " + reply + "; };";
  }
  std::string out;
  for (const auto& [flag, body] : arms) out += "    " + flag + ")" + body + " ;;\n";
  return out;
}

std::string bash_script(std::span<const Verb> verbs) {
  std::ostringstream s;
  s << "# bash completion for " << kProgram << "; generated by '" << kProgram << " completion bash'.\n"
    << "_os_image_composer() {\n"
    << "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
    << "  local verb=\"\" i w\n"
    << "  # The verb is the first one or two words that are neither flags nor flag values.\n"
    << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
    << "    w=\"${COMP_WORDS[i]}\"\n"
    << "    case \"$w\" in\n"
    << "      " << bash_alternatives(verbs, [](const Flag& f) { return f.takes_value; }) << ") ((i++)) ;;\n"
    << "      -*) ;;\n"
    << "      *) if [[ -z \"$verb\" ]]; then verb=\"$w\";\n"
    << "         elif [[ \" " << bash_groups(verbs) << " \" == *\" $verb \"* ]]; then verb=\"$verb $w\"; fi ;;\n"
    << "    esac\n  done\n"
    << "  case \"$prev\" in\n"
    << bash_choice_cases(verbs)
    << "    " << bash_alternatives(verbs, is_path_value) << ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
    << "  esac\n"
    << "  local global_flags=\"" << join_flags(flags_of(global_options())) << "\"\n"
    << "  case \"$verb\" in\n"
    << bash_verb_cases(verbs)
    << "  esac\n}\ncomplete -o filenames -F _os_image_composer " << kProgram << "\n";
  return s.str();
}

std::string zsh_flag_specs(const std::vector<Flag>& flags) {
  std::string out;
  for (const Flag& f : flags) {
    std::string action;
    if (f.takes_value) {
      action = ":" + plain(f.value_name) + ":";
      if (!choices_of(f).empty()) action += "(" + choices_of(f) + ")";
      else if (is_path_value(f)) action += "_files";
    }
    const std::string help = "[" + plain(f.help) + "]" + action;
    if (f.short_name != 0) {
      out += " '(-" + std::string(1, f.short_name) + " --" + f.long_name + ")'{-" +
             std::string(1, f.short_name) + ",--" + f.long_name + "}'" + help + "'";
    } else {
      out += " '--" + f.long_name + help + "'";
    }
  }
  return out;
}

std::string zsh_verb_case(const Verb& v, std::span<const Verb> verbs) {
  std::string args;
  const std::string kind = argument_kind(v);
  if (kind == "command") args = " '*:command:(" + joined_top_words(verbs) + ")'";
  if (kind == "file") args = " '*:file:_files'";
  return "_arguments" + zsh_flag_specs(flags_of(verb_options(v))) + " $global_opts" + args;
}

std::string zsh_script(std::span<const Verb> verbs) {
  std::ostringstream s;
  s << "#compdef " << kProgram << "\n"
    << "# zsh completion for " << kProgram << "; generated by '" << kProgram << " completion zsh'.\n"
    << "_os_image_composer() {\n"
    << "  local curcontext=\"$curcontext\" state line\n"
    << "  local -a global_opts commands\n"
    << "  global_opts=(" << zsh_flag_specs(flags_of(global_options())).substr(1) << ")\n"
    << "  commands=(\n";
  for (const std::string& w : top_words(verbs)) {
    const auto it = std::find_if(verbs.begin(), verbs.end(), [&](const Verb& v) { return v.name == w; });
    s << "    '" << w << ":" << (it != verbs.end() ? plain(it->summary) : w + " commands") << "'\n";
  }
  s << "  )\n"
    << "  _arguments -C $global_opts '1:command:->command' '*::arg:->args'\n"
    << "  case $state in\n"
    << "    command) _describe 'command' commands ;;\n"
    << "    args)\n      case $words[1] in\n";
  for (const std::string& group : top_words(verbs)) {
    std::vector<const Verb*> members;
    for (const Verb& v : verbs) {
      if (words_of(v).size() == 2 && words_of(v)[0] == group) members.push_back(&v);
    }
    if (members.empty()) {
      const auto it = std::find_if(verbs.begin(), verbs.end(), [&](const Verb& v) { return v.name == group; });
      s << "        " << group << ") " << zsh_verb_case(*it, verbs) << " ;;\n";
      continue;
    }
    s << "        " << group << ")\n"
      << "          if (( CURRENT == 2 )); then\n            _values 'command'";
    for (const Verb* m : members) s << " '" << words_of(*m)[1] << "[" << plain(m->summary) << "]'";
    s << "\n          else\n            shift words; (( CURRENT-- ))\n            case $words[1] in\n";
    for (const Verb* m : members) {
      s << "              " << words_of(*m)[1] << ") " << zsh_verb_case(*m, verbs) << " ;;\n";
    }
    s << "            esac\n          fi ;;\n";
  }
  s << "      esac ;;\n  esac\n}\n_os_image_composer \"$@\"\n";
  return s.str();
}

std::string fish_flag_lines(const std::vector<Flag>& flags, const std::string& condition) {
  std::string out;
  for (const Flag& f : flags) {
    out += "complete -c " + std::string(kProgram);
    if (!condition.empty()) out += " -n '" + condition + "'";
    if (f.short_name != 0) out += std::string(" -s ") + f.short_name;
    out += " -l " + f.long_name;
    if (f.takes_value) out += choices_of(f).empty() ? " -r" : " -x -a '" + choices_of(f) + "'";
    out += " -d '" + plain(f.help) + "'\n";
  }
  return out;
}

std::string fish_script(std::span<const Verb> verbs) {
  const std::string prog(kProgram);
  std::ostringstream s;
  s << "# fish completion for " << prog << "; generated by '" << prog << " completion fish'.\n"
    << "complete -c " << prog << " -f\n"
    << fish_flag_lines(flags_of(global_options()), "");
  std::string all_top;
  for (const std::string& w : top_words(verbs)) all_top += " " + w;
  for (const std::string& w : top_words(verbs)) {
    const auto it = std::find_if(verbs.begin(), verbs.end(), [&](const Verb& v) { return v.name == w; });
    s << "complete -c " << prog << " -n '__fish_use_subcommand' -a " << w << " -d '"
      << (it != verbs.end() ? plain(it->summary) : w + " commands") << "'\n";
  }
  for (const Verb& v : verbs) {
    const auto words = words_of(v);
    std::string condition = "__fish_seen_subcommand_from " + words[0];
    if (words.size() == 2) {
      std::string siblings;
      for (const Verb& o : verbs) {
        if (words_of(o).size() == 2 && words_of(o)[0] == words[0]) siblings += " " + words_of(o)[1];
      }
      s << "complete -c " << prog << " -n '" << condition << "; and not __fish_seen_subcommand_from"
        << siblings << "' -a " << words[1] << " -d '" << plain(v.summary) << "'\n";
      condition += "; and __fish_seen_subcommand_from " + words[1];
    }
    s << fish_flag_lines(flags_of(verb_options(v)), condition);
    const std::string kind = argument_kind(v);
    if (kind == "command") s << "complete -c " << prog << " -n '" << condition << "' -a '" << joined_top_words(verbs) << "'\n";
    if (kind == "file") s << "complete -c " << prog << " -n '" << condition << "' -F\n";
  }
  return s.str();
}

// "'a', 'b'": a PowerShell array body (names hold no quote).
std::string ps_list(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "'" : ", '") + i + "'";
  return out;
}

std::vector<std::string> flag_words(const std::vector<Flag>& flags) {
  std::vector<std::string> words;
  for (const Flag& f : flags) {
    words.push_back("--" + f.long_name);
    if (f.short_name != 0) words.push_back(std::string("-") + f.short_name);
  }
  return words;
}

// The tables the PowerShell completer reads: members of each group, flags of
// each verb, flags that take a value, and the values of fixed-set flags.
std::string powershell_tables(std::span<const Verb> verbs) {
  std::ostringstream s;
  s << "    $topCommands = @(" << ps_list(top_words(verbs)) << ")\n    $groups = @{\n";
  for (const std::string& group : top_words(verbs)) {
    std::vector<std::string> members;
    for (const Verb& v : verbs) {
      if (words_of(v).size() == 2 && words_of(v)[0] == group) members.push_back(words_of(v)[1]);
    }
    if (!members.empty()) s << "        '" << group << "' = @(" << ps_list(members) << ")\n";
  }
  s << "    }\n    $verbFlags = @{\n";
  std::vector<Flag> all = flags_of(global_options());
  for (const Verb& v : verbs) {
    const std::vector<Flag> own = flags_of(verb_options(v));
    all.insert(all.end(), own.begin(), own.end());
    s << "        '" << v.name << "' = @(" << ps_list(flag_words(own)) << ")\n";
  }
  s << "    }\n    $globalFlags = @(" << ps_list(flag_words(flags_of(global_options()))) << ")\n";
  std::vector<std::string> valued;
  for (const Flag& f : all) {
    if (!f.takes_value) continue;
    for (const std::string& w : flag_words({f})) {
      if (std::find(valued.begin(), valued.end(), w) == valued.end()) valued.push_back(w);
    }
  }
  s << "    $valueFlags = @(" << ps_list(valued) << ")\n";
  // Keyed "<verb>|<flag>", "|<flag>" for a global flag.
  s << "    $choices = @{\n";
  for (const ChoiceFlag& c : choice_flags(verbs)) {
    std::vector<std::string> values;
    std::istringstream in(c.choices);
    for (std::string value; in >> value;) values.push_back(value);
    s << "        '" << c.verb << "|" << c.flag << "' = @(" << ps_list(values) << ")\n";
  }
  s << "    }\n";
  return s.str();
}

// A native-command completer: the words before the cursor that are neither
// flags nor flag values name the verb; flags, group members, command names
// and fixed values are offered; nothing is returned where a file goes, and
// PowerShell then completes paths.
std::string powershell_script(std::span<const Verb> verbs) {
  std::ostringstream s;
  s << "# PowerShell completion for " << kProgram << "; generated by '" << kProgram
    << " completion powershell'.\n"
    << "Register-ArgumentCompleter -Native -CommandName '" << kProgram << "' -ScriptBlock {\n"
    << "    param($wordToComplete, $commandAst, $cursorPosition)\n"
    << powershell_tables(verbs)
    << "    $words = @()\n    $previous = ''\n    $skipValue = $false\n"
    << "    foreach ($element in ($commandAst.CommandElements | Select-Object -Skip 1)) {\n"
    << "        if ($element.Extent.StartOffset -ge $cursorPosition) { break }\n"
    << "        if ($wordToComplete -ne '' -and $element.Extent.EndOffset -ge $cursorPosition) { break }\n"
    << "        $text = $element.Extent.Text\n        $previous = $text\n"
    << "        if ($skipValue) { $skipValue = $false; continue }\n"
    << "        if ($text.StartsWith('-')) { $skipValue = ($valueFlags -contains $text); continue }\n"
    << "        $words += $text\n    }\n"
    << "    $verb = ''\n"
    << "    if ($words.Count -ge 1) { $verb = $words[0] }\n"
    << "    if ($words.Count -ge 2 -and $groups.ContainsKey($words[0])) { $verb = $words[0] + ' ' + $words[1] }\n"
    << "    $candidates = @()\n"
    << "    if ($skipValue) {\n"
    << "        if ($choices.ContainsKey($verb + '|' + $previous)) { $candidates = $choices[$verb + '|' + $previous] }\n"
    << "        elseif ($choices.ContainsKey('|' + $previous)) { $candidates = $choices['|' + $previous] }\n"
    << "        else { return }\n"
    << "    } elseif ($wordToComplete.StartsWith('-')) {\n"
    << "        $candidates = $globalFlags\n"
    << "        if ($verbFlags.ContainsKey($verb)) { $candidates = $verbFlags[$verb] + $globalFlags }\n"
    << "    } elseif ($words.Count -eq 0 -or $verb -eq 'help') {\n"
    << "        $candidates = $topCommands\n"
    << "    } elseif ($words.Count -eq 1 -and $groups.ContainsKey($verb)) {\n"
    << "        $candidates = $groups[$verb]\n"
    << "    } else {\n        return\n    }\n"
    << "    $candidates | Where-Object { $_ -like \"$wordToComplete*\" } | ForEach-Object {\n"
    << "        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)\n"
    << "    }\n}\n";
  return s.str();
}

}  // namespace

std::string completion_script(std::string_view shell, std::span<const Verb> verbs) {
  if (shell == "bash") return bash_script(verbs);
  if (shell == "zsh") return zsh_script(verbs);
  if (shell == "fish") return fish_script(verbs);
  if (shell == "powershell") return powershell_script(verbs);
  base::fail(base::ErrorKind::kInvalidInput,
             "unknown shell '" + std::string(shell) + "' (expected bash, zsh, fish or powershell)");
}

}  // namespace supervisor::cli
