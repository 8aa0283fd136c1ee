// `config init [FILE]` and `config show`: write a commented starting config,
// and print the effective one with where it came from.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "supervisor/cli/cli.hpp"

namespace supervisor::cli {
namespace {

constexpr std::string_view kDefaultConfigFile = "os-image-composer.yml";

void add_init_options(po::options_description& options) {
  options.add_options()("force", po::bool_switch(), "overwrite an existing file (never a symlink)");
}

// Creates `path` with mode 0600. Symlinks are refused even with `force`, so a
// planted link cannot redirect the write.
void write_private_file(const std::string& path, const std::string& text, bool force) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    base::require(!S_ISLNK(st.st_mode), "Refusing to write config file '" + path + "': it is a symlink");
    if (!force) {
      throw base::Error(base::ErrorKind::kInvalidInput,
                       "Refusing to overwrite config file '" + path + "': it already exists")
          .with_hint("pass --force to replace it");
    }
    base::require(S_ISREG(st.st_mode),
                 "Refusing to overwrite config file '" + path + "': it is not a regular file");
  }
  const int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  base::UniqueFd fd(base::check_syscall(::open(path.c_str(), flags, 0600), "create config file", path));
  // An existing file keeps its old mode through O_TRUNC; the config may name private paths.
  base::check_syscall(::fchmod(fd.get(), 0600), "set the mode of config file", path);
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    base::check_syscall(n, "write config file", path);
    done += static_cast<std::size_t>(n);
  }
}

int run_config_init(const Invocation& inv) {
  const std::string path = inv.args.empty() ? std::string(kDefaultConfigFile) : inv.args[0];
  // Start from the built-in defaults, not from whatever config file is active now.
  const config::GlobalConfig defaults = config::default_global_config(config::Environment::from_process());
  write_private_file(path, config::commented_global_config(defaults), inv.options["force"].as<bool>());
  inv.log.info("Wrote config file '" + path + "'");
  return kExitOk;
}

int run_config_show(const Invocation& inv) {
  if (inv.global.source.empty()) {
    inv.out << "# No config file found; built-in defaults.\n";
  } else {
    inv.out << "# Loaded from " << inv.global.source.string() << "\n";
  }
  inv.out << config::emit_global_config(inv.global);
  return kExitOk;
}

}  // namespace

std::vector<Verb> config_verbs() {
  return {
      Verb{.name = "config init", .arguments = "[FILE]",
           .summary = "Write a commented default config file (default ./os-image-composer.yml)",
           .max_args = 1, .add_options = add_init_options, .run = run_config_init, .loads_config = false},
      Verb{.name = "config show", .summary = "Print the effective config and the file it came from",
           .run = run_config_show},
  };
}

}  // namespace supervisor::cli
