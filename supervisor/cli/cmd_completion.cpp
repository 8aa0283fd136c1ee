// `completion bash|zsh|fish|powershell` prints a completion script;
// `completion install [--shell S] [--force]` writes it where that shell reads
// a user's completions and says where.
#include <fcntl.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/cli/completion_scripts.hpp"

namespace supervisor::cli {
namespace {

namespace fs = std::filesystem;

// The directory of `var`, or `fallback` under the home directory.
fs::path xdg_dir(const config::Environment& env, std::string_view var, const fs::path& fallback) {
  if (auto value = env.get(var); value && fs::path(*value).is_absolute()) return *value;
  return env.home() / fallback;
}

struct InstallPlace {
  fs::path file;
  std::string note;  // what the user may still have to do
};

InstallPlace install_place(std::string_view shell, const config::Environment& env) {
  const std::string program(kProgram);
  if (shell == "bash") {
    return {xdg_dir(env, "XDG_DATA_HOME", ".local/share") / "bash-completion/completions" / program,
            "bash-completion loads it in new shells."};
  }
  if (shell == "zsh") {
    return {env.home() / ".zsh/completion" / ("_" + program),
            "zsh loads it when ~/.zshrc has 'fpath=(~/.zsh/completion $fpath)' before 'autoload -U compinit; "
            "compinit'."};
  }
  if (shell == "fish") {
    return {xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "fish/completions" / (program + ".fish"),
            "fish loads it in new shells."};
  }
  const fs::path file = xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "powershell" / (program + "-completion.ps1");
  return {file, "PowerShell loads it when your profile ($PROFILE) has the line: . '" + file.string() + "'"};
}

// The shell --shell names, else the one $SHELL runs.
std::string shell_to_install(const Invocation& inv, const config::Environment& env) {
  std::string shell;
  if (inv.options.count("shell")) {
    shell = inv.options["shell"].as<std::string>();
  } else {
    const std::string login = env.get("SHELL").value_or("");
    shell = fs::path(login).filename().string();
    if (shell == "pwsh") shell = "powershell";
    base::require(std::find(kCompletionShells.begin(), kCompletionShells.end(), shell) != kCompletionShells.end(),
                  "cannot tell which shell to install completion for from SHELL='" + login +
                      "': give --shell bash, zsh, fish or powershell");
  }
  base::require(std::find(kCompletionShells.begin(), kCompletionShells.end(), shell) != kCompletionShells.end(),
                "unknown --shell '" + shell + "' (expected bash, zsh, fish or powershell)");
  return shell;
}

std::optional<std::string> existing_content(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int run_install(const Invocation& inv) {
  const config::Environment env = config::Environment::from_process();
  const std::string shell = shell_to_install(inv, env);
  const InstallPlace place = install_place(shell, env);
  const std::string script = completion_script(shell, inv.verbs);
  const std::optional<std::string> before = existing_content(place.file);
  if (before == script) {
    inv.out << "The " << shell << " completion in " << place.file.string() << " is up to date.\n";
    return kExitOk;
  }
  base::require(!before || inv.options["force"].as<bool>(),
                "'" + place.file.string() + "' exists and differs from this version's script; --force replaces it");
  std::error_code ec;
  fs::create_directories(place.file.parent_path(), ec);
  if (ec) base::fail(base::ErrorKind::kFailed, "Failed to create directory '" +
                                                   place.file.parent_path().string() + "': " + ec.message());
  const base::UniqueFd dir(base::check_syscall(
      ::open(place.file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open directory",
      place.file.parent_path().string()));
  base::write_file_atomically(dir.get(), place.file.filename().string(), script, 0644);
  inv.out << "Installed the " << shell << " completion in " << place.file.string() << "\n" << place.note << "\n";
  return kExitOk;
}

void add_install_options(po::options_description& options) {
  options.add_options()
      ("shell", po::value<std::string>()->value_name("SHELL"),
       "bash, zsh, fish or powershell (default: the shell $SHELL runs)")
      ("force", po::bool_switch(), "replace a completion file that differs from this version's");
}

template <std::size_t kShell>
int print_script(const Invocation& inv) {
  inv.out << completion_script(kCompletionShells[kShell], inv.verbs);
  return kExitOk;
}

}  // namespace

std::vector<Verb> completion_verbs() {
  return {
      Verb{.name = "completion bash", .summary = "Print the bash completion script", .run = print_script<0>,
           .loads_config = false},
      Verb{.name = "completion zsh", .summary = "Print the zsh completion script", .run = print_script<1>,
           .loads_config = false},
      Verb{.name = "completion fish", .summary = "Print the fish completion script", .run = print_script<2>,
           .loads_config = false},
      Verb{.name = "completion powershell", .summary = "Print the PowerShell completion script",
           .run = print_script<3>, .loads_config = false},
      Verb{.name = "completion install",
           .summary = "Install the completion script where the shell reads a user's completions",
           .add_options = add_install_options, .run = run_install, .loads_config = false},
  };
}

}  // namespace supervisor::cli
