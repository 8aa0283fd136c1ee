// What `build` and `lock` hand to the build orchestrator: the merged and
// validated template, the effective global config (flag overrides applied)
// and the verb's flags. build.cpp implements these two entry points.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "config/global_config.hpp"
#include "config/template.hpp"
#include "supervisor/build/additional_files.hpp"
#include "supervisor/build/outputs.hpp"
#include "supervisor/log.hpp"

namespace supervisor {

struct BuildRequest {
  std::filesystem::path template_path;  // the user template as given
  config::ImageTemplate image;          // user template merged over the OS default, validated
  config::GlobalConfig global;          // --workers, --cache-dir, --work-dir already applied
  std::optional<std::filesystem::path> dotfile;        // -f: Graphviz DOT of the dependency graph
  bool system_packages_only = false;                   // DOT roots: systemConfig.packages only
  std::optional<std::filesystem::path> lockfile;       // --lockfile: pin package versions from it
  std::optional<std::filesystem::path> keep_requests;  // --keep-requests: save stage requests here
  bool json = false;                                   // --json: machine-readable progress/result on stdout
  bool rebuild = false;  // --rebuild: build even when the outputs are up to date (image_record.hpp)
  bool allow_outside_files = false;  // --allow-outside-files: additionalFiles from anywhere
  OutputNaming output_names = OutputNaming::kOwn;  // --output-names: how published files are named
  // --sign-key or the global config's signing_key: SHA256SUMS is signed with
  // it by stage-signer (SHA256SUMS.asc); the supervisor never reads the key.
  std::optional<std::filesystem::path> sign_key;
  // Files the build itself puts into the image after the template's (an ISO's
  // live environment: live-installer); never set from a template.
  std::vector<SuppliedFile> supplied_files;
  // `build --check-reproducible` (docs/reproducible-builds.md): its second
  // build installs without a saved build environment when the first copied
  // one (kWithout: none is copied or saved); when set, `reused_build_env`
  // becomes true if any image of this build copied a saved one.
  enum class BuildEnvUse { kAsUsual, kWithout };
  BuildEnvUse build_env_use = BuildEnvUse::kAsUsual;
  std::shared_ptr<bool> reused_build_env;
};

struct LockRequest {
  std::filesystem::path template_path;
  config::ImageTemplate image;  // merged and validated, as for a build
  config::GlobalConfig global;
  std::optional<std::filesystem::path> output;  // -o: where to write the lock file; stdout when unset
};

struct FetchRequest {
  std::filesystem::path template_path;
  config::ImageTemplate image;  // merged and validated, as for a build
  config::GlobalConfig global;  // --workers, --cache-dir already applied
  std::optional<std::filesystem::path> lockfile;  // --lockfile: fetch the versions pinned in it
  bool check_archives = false;                    // --check-archives: also the check a build runs before install
};

// All return a process exit code (0 success, 1 failure) and throw base::Error
// for failures the CLI reports as one message.
int run_build(const BuildRequest& request, Logger& log);
int run_lock(const LockRequest& request, Logger& log);
// `fetch`: every package of the image verified in the cache, and no more
// (e.g. to fill a cache before an offline build).
int run_fetch(const FetchRequest& request, Logger& log);

}  // namespace supervisor
