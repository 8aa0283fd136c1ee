#include "stages/signer/program.hpp"

#include <array>

#include "base/child_process.hpp"
#include "base/error.hpp"

namespace stage::signer {

std::string ProgramOutcome::status_text() const {
  return signal != 0 ? "was killed by signal " + std::to_string(signal)
                     : "exited with status " + std::to_string(exit_code);
}

std::filesystem::path find_program(std::string_view program, std::string_view package) {
  constexpr std::array<const char*, 2> kDirs = {"/usr/bin/", "/usr/sbin/"};
  return base::find_host_program(program, package, kDirs);
}

ProgramOutcome run_program(const std::vector<std::string>& argv) {
  base::check(!argv.empty(), "run_program needs a program");
  base::ChildOutcome child =
      base::run_child({.argv = argv, .env = {"PATH=/usr/bin:/usr/sbin", "LC_ALL=C", "OPENSSL_CONF=/dev/null"}});
  return {.exit_code = child.exit_code, .signal = child.signal, .output = std::move(child.err)};
}

}  // namespace stage::signer
