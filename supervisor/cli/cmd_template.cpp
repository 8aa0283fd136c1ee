// The verbs that take an image template: `validate`, `build` and `lock`.
// All three load and check the template here; build and lock then hand a
// request to the orchestrator (build.hpp).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "config/emit.hpp"
#include "config/load.hpp"
#include "base/error.hpp"
#include "supervisor/build/build.hpp"
#include "supervisor/cli/check_reproducible.hpp"
#include "supervisor/cli/cli.hpp"

namespace supervisor::cli {
namespace {
namespace fs = std::filesystem;

void add_validate_options(po::options_description& options) {
  options.add_options()("merged", po::bool_switch(),
                        "merge with the OS default template, validate the result and print it as YAML");
}

void add_build_options(po::options_description& options) {
  options.add_options()
      ("workers,w", po::value<int>()->value_name("N"), "parallel downloads (1..100; overrides the config)")
      ("cache-dir,d", po::value<std::string>()->value_name("DIR"), "package cache (overrides the config)")
      ("work-dir", po::value<std::string>()->value_name("DIR"), "build workspace (overrides the config)")
      ("dotfile,f", po::value<std::string>()->value_name("FILE"), "write the package dependency graph as Graphviz DOT")
      ("system-packages-only", po::bool_switch(), "limit the DOT graph to systemConfig.packages and their dependencies")
      ("lockfile", po::value<std::string>()->value_name("FILE"), "install the package versions pinned in FILE")
      ("keep-requests", po::value<std::string>()->value_name("DIR"), "save every stage request in DIR")
      ("json", po::bool_switch(), "print progress and the result as JSON lines on stdout")
      ("rebuild", po::bool_switch(), "build even when the outputs were made from the same inputs and are unchanged")
      ("allow-outside-files", po::bool_switch(),
       "use additionalFiles outside the template's and the OS data's directories")
      ("output-names", po::value<std::string>()->value_name("SCHEME"),
       "own (default): <image.name>-<image.version>.<ext>; reference: the reference tool's "
       "<image.name>-<OS version>.<ext> and spdx_manifest_*.json")
      ("sign-key", po::value<std::string>()->value_name("FILE"),
       "sign SHA256SUMS with this OpenPGP secret key (no passphrase) into SHA256SUMS.asc "
       "(overrides the config's signing_key)")
      ("check-reproducible", po::bool_switch(),
       "then build again from the published lockfile in a scratch directory and compare every output; "
       "exit 1 naming what differs");
}

// --output-names, else the global config's output_names (checked when read).
OutputNaming output_naming(const Invocation& inv, const config::GlobalConfig& global) {
  const bool flag = inv.options.count("output-names") != 0;
  const std::string scheme = flag ? inv.options["output-names"].as<std::string>() : global.output_names;
  const std::optional<OutputNaming> naming = parse_output_naming(scheme);
  base::require(naming.has_value(), "invalid --output-names '" + scheme + "' (expected own or reference)");
  return *naming;
}

void add_fetch_options(po::options_description& options) {
  options.add_options()
      ("workers,w", po::value<int>()->value_name("N"), "parallel downloads (1..100; overrides the config)")
      ("cache-dir,d", po::value<std::string>()->value_name("DIR"), "package cache (overrides the config)")
      ("lockfile", po::value<std::string>()->value_name("FILE"), "fetch the package versions pinned in FILE")
      ("check-archives", po::bool_switch(), "also check each package's archive contents, as a build does");
}

void add_lock_options(po::options_description& options) {
  options.add_options()("output,o", po::value<std::string>()->value_name("FILE"),
                        "write the lock file to FILE instead of stdout");
}

fs::path template_argument(const Invocation& inv) {
  const fs::path path = inv.args.at(0);
  const std::string ext = path.extension().string();
  base::require(ext == ".yml" || ext == ".yaml",
               "Failed to load template '" + path.string() + "': expected a .yml or .yaml file");
  return path;
}

config::LoadOptions load_options(const Invocation& inv) {
  config::LoadOptions options;
  options.config_dir = inv.global.config_dir;
  return options;
}

// One line naming what the template builds (the reference's validate summary).
std::string summary_line(const config::ImageTemplate& t) {
  auto text = [](const std::optional<std::string>& v) { return v.value_or("-"); };
  const config::Target target = t.target.value_or(config::Target{});
  std::string line = "Template '" + (t.image ? text(t.image->name) : "-") + "': type " +
                     text(target.image_type) + ", " + text(target.os) + "/" + text(target.dist) + "/" +
                     text(target.arch);
  const config::SystemConfig sc = t.system_config.value_or(config::SystemConfig{});
  line += ", " + std::to_string(sc.packages.size()) + " packages, " + std::to_string(sc.users.size()) + " users";
  if (sc.kernel && sc.kernel->name) {
    line += ", kernel " + *sc.kernel->name;
    if (sc.kernel->version) line += " " + *sc.kernel->version;
  }
  return line;
}

config::LoadedTemplate load_merged(const Invocation& inv, const fs::path& path) {
  config::LoadedTemplate loaded = config::load_merged_template(path, load_options(inv));
  for (const std::string& w : loaded.warnings) inv.log.warn(w);
  inv.log.debug("Merged over OS default '" + loaded.default_path.string() + "'");
  inv.log.info(summary_line(loaded.tmpl));
  return loaded;
}

int run_validate(const Invocation& inv) {
  const fs::path path = template_argument(inv);
  if (inv.options["merged"].as<bool>()) {
    const config::LoadedTemplate loaded = load_merged(inv, path);
    inv.out << config::emit_template(loaded.tmpl);
  } else {
    const config::LoadedTemplate loaded = config::load_user_template(path, load_options(inv));
    for (const std::string& w : loaded.warnings) inv.log.warn(w);
    inv.log.info(summary_line(loaded.tmpl));
  }
  inv.log.info("Template '" + path.string() + "' is valid");
  return kExitOk;
}

std::optional<fs::path> optional_path(const Invocation& inv, const char* name) {
  if (!inv.options.count(name)) return std::nullopt;
  return fs::path(inv.options[name].as<std::string>());
}

// The global config with the verb's --workers, --cache-dir and --work-dir.
config::GlobalConfig global_with_overrides(const Invocation& inv) {
  config::GlobalConfig global = inv.global;
  if (inv.options.count("workers")) {
    const int workers = inv.options["workers"].as<int>();
    base::require(workers >= config::kMinWorkers && workers <= config::kMaxWorkers,
                 "invalid --workers " + std::to_string(workers) + " (expected 1..100)");
    global.workers = workers;
  }
  if (auto dir = optional_path(inv, "cache-dir")) global.cache_dir = fs::absolute(*dir);
  if (auto dir = optional_path(inv, "work-dir")) global.work_dir = fs::absolute(*dir);
  return global;
}

// --sign-key, else the global config's signing_key. Opened (O_NOFOLLOW) and
// closed before the build starts, so a wrong path fails now, not after the
// image is made; its bytes are read only by stage-signer.
std::optional<fs::path> signing_key(const Invocation& inv, const config::GlobalConfig& global) {
  std::optional<fs::path> key = optional_path(inv, "sign-key");
  if (!key && !global.signing_key.empty()) key = global.signing_key;
  if (!key) return std::nullopt;
  *key = fs::absolute(*key);
  const int fd = ::open(key->c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    throw base::Error(base::ErrorKind::kInvalidInput,
                      "Failed to open the signing key '" + key->string() + "': " + std::strerror(error) +
                          (error == ELOOP ? " (a symbolic link is not followed)" : ""));
  }
  ::close(fd);
  return key;
}

int run_build_verb(const Invocation& inv) {
  const fs::path path = template_argument(inv);
  BuildRequest request{.template_path = path, .global = global_with_overrides(inv)};
  request.dotfile = optional_path(inv, "dotfile");
  request.system_packages_only = inv.options["system-packages-only"].as<bool>();
  base::require(!request.system_packages_only || request.dotfile,
               "--system-packages-only shapes the DOT graph and needs --dotfile");
  request.lockfile = optional_path(inv, "lockfile");
  request.keep_requests = optional_path(inv, "keep-requests");
  request.json = inv.options["json"].as<bool>();
  request.rebuild = inv.options["rebuild"].as<bool>();
  request.allow_outside_files = inv.options["allow-outside-files"].as<bool>();
  request.output_names = output_naming(inv, request.global);
  request.sign_key = signing_key(inv, request.global);
  request.image = load_merged(inv, path).tmpl;
  if (inv.options["check-reproducible"].as<bool>()) return run_check_reproducible(inv, std::move(request));
  return run_build(request, inv.log);
}

int run_fetch_verb(const Invocation& inv) {
  const fs::path path = template_argument(inv);
  FetchRequest request{.template_path = path,
                       .global = global_with_overrides(inv),
                       .lockfile = optional_path(inv, "lockfile"),
                       .check_archives = inv.options["check-archives"].as<bool>()};
  request.image = load_merged(inv, path).tmpl;
  return run_fetch(request, inv.log);
}

int run_lock_verb(const Invocation& inv) {
  const fs::path path = template_argument(inv);
  LockRequest request{.template_path = path, .global = inv.global, .output = optional_path(inv, "output")};
  request.image = load_merged(inv, path).tmpl;
  return run_lock(request, inv.log);
}

}  // namespace

std::vector<Verb> template_verbs() {
  return {
      Verb{.name = "build", .arguments = "TEMPLATE", .summary = "Build an image from a template",
           .min_args = 1, .max_args = 1, .add_options = add_build_options, .run = run_build_verb},
      Verb{.name = "validate", .arguments = "TEMPLATE",
           .summary = "Check a template (with --merged: merged over its OS default, printed as YAML)",
           .min_args = 1, .max_args = 1, .add_options = add_validate_options, .run = run_validate},
      Verb{.name = "lock", .arguments = "TEMPLATE",
           .summary = "Resolve a template's packages and write a lock file of exact versions",
           .min_args = 1, .max_args = 1, .add_options = add_lock_options, .run = run_lock_verb},
      Verb{.name = "fetch", .arguments = "TEMPLATE",
           .summary = "Download and verify every package of the image into the cache (e.g. before an offline build)",
           .min_args = 1, .max_args = 1, .add_options = add_fetch_options, .run = run_fetch_verb},
  };
}

}  // namespace supervisor::cli
