// live-installer: installs the system an install medium carries onto a disk
// (docs/live-installer.md). Runs as root in the ISO's live environment.
#include <openssl/crypto.h>
#include <sys/reboot.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "live/command.hpp"
#include "live/install.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: live-installer [--medium DIR] [--attended|--unattended] [--disk DEV] [--no-reboot]\n";

struct Arguments {
  live::InstallOptions options;
  bool reboot = true;
};

// nullopt after printing the reason on a bad command line.
std::optional<Arguments> parse(int argc, char** argv) {
  Arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--medium" && has_value) args.options.medium = argv[++i];
    else if (arg == "--disk" && has_value) args.options.disk = argv[++i];
    else if (arg == "--attended") args.options.mode = live::Mode::kAttended;
    else if (arg == "--unattended") args.options.mode = live::Mode::kUnattended;
    else if (arg == "--no-reboot") args.reboot = false;
    else {
      std::cout << live::kFailedPrefix << "bad argument '" << arg << "'\n" << kUsage;
      return std::nullopt;
    }
  }
  if (args.options.mode == live::Mode::kAttended && !args.options.disk.empty()) {
    std::cout << live::kFailedPrefix << "--attended asks for the disk; it takes no --disk\n" << kUsage;
    return std::nullopt;
  }
  return args;
}

void restart_machine() {
  ::sync();
  if (live::run_command({"reboot"}).exit_code == 0) return;
  ::reboot(RB_AUTOBOOT);
}

}  // namespace

int main(int argc, char** argv) {
  // Statically linked libcrypto must not load the live environment's OpenSSL
  // configuration (or the providers it names, which it cannot dlopen).
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
  ::setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  const std::optional<Arguments> args = parse(argc, argv);
  if (!args) return 2;
  live::Console console{std::cin, std::cout, ::isatty(0) == 1};
  if (live::run_installation(args->options, console) != live::kCompleteLine) return 1;
  if (args->reboot) restart_machine();
  return 0;
}
