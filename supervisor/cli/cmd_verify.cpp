// `verify DIR [--key FILE]`: checks a build's signed outputs. stage-signer
// checks DIR/SHA256SUMS.asc against the public key (the supervisor parses no
// OpenPGP), then every file SHA256SUMS lists is hashed again. Exit 0 when all
// is good, 1 on any mismatch (each named), 2 on usage errors.
#include <cstdio>

#include "base/error.hpp"
#include "supervisor/build/build_steps.hpp"
#include "supervisor/build/output_signature.hpp"
#include "supervisor/cli/cli.hpp"

namespace supervisor::cli {
namespace {

namespace fs = std::filesystem;

void add_verify_options(po::options_description& options) {
  options.add_options()("key", po::value<std::string>()->value_name("FILE"),
                        "the OpenPGP public key SHA256SUMS.asc must be signed by (default: the config's verify_key)");
}

fs::path verify_key(const Invocation& inv) {
  fs::path key;
  if (inv.options.count("key")) key = inv.options["key"].as<std::string>();
  if (key.empty()) key = inv.global.verify_key;
  if (key.empty()) {
    throw base::Error(base::ErrorKind::kInvalidInput,
                      "verify needs the public key to check SHA256SUMS.asc against: --key FILE")
        .with_hint("or name it as verify_key in the global config file (docs/global-config.md)");
  }
  base::require(fs::is_regular_file(key), "Failed to read the public key '" + key.string() + "': it is not a file");
  return fs::absolute(key);
}

void print_report(std::ostream& out, const fs::path& dir, const VerifyReport& report) {
  for (const std::string& name : report.checked) out << "OK      " << name << "\n";
  for (const std::string& problem : report.problems) out << "FAILED  " << problem << "\n";
  for (const std::string& name : report.unlisted) out << "NOTE    " << name << ": not listed in SHA256SUMS (not checked)\n";
  if (report.good) {
    out << dir.string() << ": signature good (key " << report.signer << "), " << report.checked.size()
        << " files match SHA256SUMS\n";
  } else {
    out << dir.string() << ": verification FAILED (" << report.problems.size() << " problems)\n";
  }
}

int run_verify(const Invocation& inv) {
  const fs::path dir = fs::absolute(inv.args.at(0));
  base::require(fs::is_directory(dir), "Failed to verify '" + dir.string() + "': it is not a directory");
  const fs::path key = verify_key(inv);
  ProgressReporter progress(choose_progress_mode(false, stderr), stderr);
  const VerifyReport report = verify_output_dir(dir, key, orchestrator_options(inv.global, std::nullopt), progress);
  print_report(inv.out, dir, report);
  if (!report.good) inv.log.error("Failed to verify the outputs in '" + dir.string() + "': " + report.problems.front());
  return report.good ? kExitOk : kExitFailure;
}

}  // namespace

std::vector<Verb> verify_verbs() {
  return {Verb{.name = "verify", .arguments = "DIR",
               .summary = "Check a build's SHA256SUMS.asc signature and every file SHA256SUMS lists",
               .min_args = 1, .max_args = 1, .add_options = add_verify_options, .run = run_verify}};
}

}  // namespace supervisor::cli
