// A private place to run `os-image-composer build` and `boot` as a user
// would: its own HOME, global config and work dir, with the package cache
// shared with the live tests so that reruns download nothing.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/image/disk_inspect.hpp"

namespace tests::image {

// The built CLI and the source tree, from meson (OIC_CLI, OIC_SOURCE_DIR).
std::filesystem::path cli_path();
std::filesystem::path source_dir();

// Why the image tests cannot run here ("" when they can): no bookworm main
// source in this machine's apt sources. Anything else missing is a failure.
std::string skip_reason();

// What a build or boot needs that is not there (stage executables, host
// tools), one line each; empty when all is present.
std::string missing_prerequisites();

// What a suite checks once before building anything: `skip` (skip_reason())
// skips it, `missing` (missing_prerequisites(), asked only when there is
// no skip) fails it.
struct Preconditions {
  std::string skip;
  std::string missing;
  bool met() const { return skip.empty() && missing.empty(); }
};
Preconditions check_preconditions();

struct TimedRun {
  RunResult result;
  double seconds = 0;
  // stdout and stderr together: the log and any JSON.
  std::string output() const { return result.out + result.err; }
  // The last `lines` lines of the output, for failure messages.
  std::string tail(std::size_t lines = 40) const;
};

class ImageWorkspace {
 public:
  // `config_dir`: the OS data to use instead of the source tree's config/.
  explicit ImageWorkspace(const std::string& prefix, const std::filesystem::path& config_dir = {});
  ~ImageWorkspace();
  ImageWorkspace(const ImageWorkspace&) = delete;
  ImageWorkspace& operator=(const ImageWorkspace&) = delete;

  // Runs the CLI with --config of this workspace and `args`.
  TimedRun cli(const std::vector<std::string>& args) const;
  TimedRun build(const std::filesystem::path& image_template) const;
  // `boot IMAGE --check --timeout SECONDS`.
  TimedRun boot_check(const std::filesystem::path& image, int timeout_seconds = 300) const;

  const std::filesystem::path& root() const { return root_; }
  // An environment variable of every later CLI run, beside PATH, HOME, ...
  void set_env(const std::string& name, const std::string& value) { extra_env_[name] = value; }
  // <work_dir>/<provider-id>/imagebuild/<system-config-name>
  std::filesystem::path output_dir(const std::string& provider_id, const std::string& system_name) const;

 private:
  std::filesystem::path root_;
  std::map<std::string, std::string> extra_env_;
  mutable int runs_ = 0;
};

// A copy of the OS data in `dir`/config whose eLxr 12 provider reads this
// machine's Debian mirror (eLxr 12 is built on Debian 12; its own mirror is
// not reachable from CI): the elxr12 amd64 repository file is the debian12
// one (entries with "source: host-apt", so no URL is written) and the elxr12
// defaults drop the two packages only the eLxr archive has (uefi-ext4,
// elxr-archive-keyring). Everything else is the eLxr path as shipped.
std::filesystem::path elxr12_config_on_debian_mirror(const std::filesystem::path& dir);

// What the supervisor logs about a build's saved build environment.
inline constexpr const char* kReusingBuildEnv = "Reusing build environment";
inline constexpr const char* kSavingBuildEnv = "Saving build environment";
// The installer names the key after it ("Reused the initramfs <key> made for ...").
inline constexpr const char* kReusedInitramfs = "Reused the initramfs";
// Where the image tests' builds keep initramfs images (docs/outputs.md).
std::filesystem::path kept_initramfs_dir();

// The key (64 hex digits) the supervisor names after `phrase` ("<phrase>
// <key>"), or "" when absent. The installer logs the same phrases with the
// environment's path; only a 64-digit hex word is the supervisor's key.
std::string logged_build_env_key(const std::string& log, const std::string& phrase);

// The key of the environment a build used whichever way it used it: saved
// it, reused it, or installed without it while another build saved it.
std::string logged_build_env_key(const std::string& log);

// Paths of one build's outputs: <dir>/<image.name>-<image.version>.<ext>.
struct ImageOutputs {
  std::filesystem::path dir;
  std::string base;  // <image.name>-<image.version>

  std::filesystem::path file(const std::string& ext) const { return dir / (base + "." + ext); }
  std::filesystem::path raw() const { return file("raw"); }
  std::filesystem::path lock() const { return file("lock.json"); }
  std::filesystem::path sbom() const { return file("spdx.json"); }
  std::filesystem::path merged_template() const { return file("template.yml"); }
  std::filesystem::path sums() const { return dir / "SHA256SUMS"; }
};

}  // namespace tests::image
