// `version`: what was built, from which commit.
#include <string_view>

#include "build_info.hpp"
#include "supervisor/cli/cli.hpp"
#include "supervisor/cli/version_info.hpp"

namespace supervisor::cli {
namespace {

int run_version(const Invocation& inv) {
  const std::string_view commit = OIC_COMMIT;
  inv.out << kProgram << " " << OIC_VERSION << "\n"
          << "Commit: " << (commit.empty() ? "unknown" : commit) << "\n";
  return kExitOk;
}

}  // namespace

std::vector<Verb> version_verbs() {
  return {Verb{.name = "version", .summary = "Print the version and the commit it was built from",
               .run = run_version, .loads_config = false}};
}

}  // namespace supervisor::cli
