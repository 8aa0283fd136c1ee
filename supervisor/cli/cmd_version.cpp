// `version`: what was built, when and from which commit, in the lines the
// reference tool prints ("<tool> v<version>", "Build Date:", "Commit:").
#include <string_view>

#include "build_info.hpp"
#include "supervisor/cli/build_date.hpp"
#include "supervisor/cli/cli.hpp"
#include "supervisor/cli/version_info.hpp"

namespace supervisor::cli {
namespace {

std::string_view or_unknown(std::string_view value) { return value.empty() ? "unknown" : value; }

int run_version(const Invocation& inv) {
  inv.out << kProgram << " v" << OIC_VERSION << "\n"
          << "Build Date: " << or_unknown(OIC_BUILD_DATE) << "\n"
          << "Commit: " << or_unknown(OIC_COMMIT) << "\n";
  return kExitOk;
}

}  // namespace

std::vector<Verb> version_verbs() {
  return {Verb{.name = "version", .summary = "Print the version, build date and the commit it was built from",
               .run = run_version, .loads_config = false}};
}

}  // namespace supervisor::cli
