// Runs the CLI under test (OIC_CLI) as a user would, with an environment of
// its own: PATH, a HOME and XDG_CONFIG_HOME under the test's scratch
// directory, and OIC_STAGE_DIR (where the stage programs are) passed on.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/run_program.hpp"

namespace tests::cli {

inline const char* env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// `os-image-composer VERB EXTRA...` with stdin from `input`, in `cwd` when given.
inline support::RunResult run_cli(const std::string& verb, const std::vector<std::string>& extra,
                                  const std::filesystem::path& scratch,
                                  const std::filesystem::path& input = "/dev/null",
                                  const std::filesystem::path& cwd = {}) {
  std::vector<std::string> argv = {env_or_empty("OIC_CLI"), verb};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return support::run_program(argv,
                              {{"PATH", "/usr/bin:/bin"},
                               {"HOME", (scratch / "home").string()},
                               {"XDG_CONFIG_HOME", (scratch / "home/.config").string()},
                               {"OIC_STAGE_DIR", env_or_empty("OIC_STAGE_DIR")}},
                              scratch / "run", input, cwd);
}

}  // namespace tests::cli
