#include "tests/image/image_workspace.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "tests/live/live_support.hpp"

namespace tests::image {
namespace fs = std::filesystem;

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

fs::path cli_path() { return env_or_empty("OIC_CLI"); }
fs::path source_dir() { return env_or_empty("OIC_SOURCE_DIR"); }

std::string skip_reason() {
  if (tests::live::bookworm_sources().empty()) return "no bookworm main source in this machine's apt sources";
  return {};
}

std::string missing_prerequisites() {
  std::string missing;
  if (cli_path().empty() || !fs::exists(cli_path())) return "OIC_CLI must name the built os-image-composer\n";
  if (source_dir().empty()) missing += "OIC_SOURCE_DIR must name the source tree\n";
  for (const char* stage : {"fetcher", "verifier", "resolver", "installer", "diskmaker", "isomaker"}) {
    const fs::path exe = cli_path().parent_path() / ".." / "stages" / stage / ("stage-" + std::string(stage));
    if (!fs::exists(exe)) missing += exe.lexically_normal().string() + " is missing: build the stage executables\n";
  }
  // An ISO's live environment carries it.
  const fs::path live_installer = cli_path().parent_path() / ".." / "live" / "live-installer";
  if (!fs::exists(live_installer)) missing += live_installer.lexically_normal().string() + " is missing: build it\n";
  for (const char* tool : {"sfdisk", "mkfs.ext4", "mkfs.vfat", "mcopy", "mdir", "debugfs", "blkid", "sha256sum",
                           "qemu-system-x86_64", "python3", "xorriso"}) {
    if (host_tool(tool).empty()) missing += std::string(tool) + " is not installed (see .ci/packages)\n";
  }
  if (!fs::exists("/usr/share/OVMF/OVMF_CODE_4M.fd")) missing += "OVMF is not installed (package ovmf)\n";
  return missing;
}

Preconditions check_preconditions() {
  Preconditions pre{.skip = skip_reason()};
  if (pre.skip.empty()) pre.missing = missing_prerequisites();
  return pre;
}

std::string TimedRun::tail(std::size_t lines) const {
  const std::string text = output();
  std::size_t at = text.size();
  for (std::size_t seen = 0; at > 0 && seen <= lines;) {
    if (text[--at] == '\n') ++seen;
  }
  return "exit " + std::to_string(result.exit_code) + " after " + std::to_string(static_cast<int>(seconds)) +
         " s; output ends:\n" + text.substr(at);
}

ImageWorkspace::ImageWorkspace(const std::string& prefix, const fs::path& config_dir) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  base::check_syscall(::mkdtemp(pattern.data()) == nullptr ? -1 : 0, "create", pattern);
  root_ = pattern;
  const fs::path cache = tests::live::persistent_cache_dir() / "oic-cache";
  fs::create_directories(cache);
  fs::create_directories(root_ / "tmp");
  fs::create_directories(root_ / "home");
  std::ofstream(root_ / "config.yml") << "workers: 8\n"
                                      << "cache_dir: " << cache.string() << "\n"
                                      << "work_dir: " << (root_ / "work").string() << "\n"
                                      << "temp_dir: " << (root_ / "tmp").string() << "\n"
                                      << (config_dir.empty() ? "" : "config_dir: " + config_dir.string() + "\n");
}

ImageWorkspace::~ImageWorkspace() {
  // OIC_IMAGE_KEEP=1 keeps images, logs and work dirs for a look after a failure.
  if (!env_or_empty("OIC_IMAGE_KEEP").empty()) return;
  std::error_code ec;
  fs::remove_all(root_, ec);
}

TimedRun ImageWorkspace::cli(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {cli_path().string(), "--config", (root_ / "config.yml").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env = extra_env_;
  env.insert({
      {"PATH", "/usr/bin:/bin"},
      {"HOME", (root_ / "home").string()},
      {"XDG_CONFIG_HOME", (root_ / "home/.config").string()},
      {"TMPDIR", (root_ / "tmp").string()},
      {"LC_ALL", "C"},
  });
  TimedRun run;
  const auto start = std::chrono::steady_clock::now();
  run.result = run_program(argv, env, root_ / "runs" / std::to_string(++runs_));
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

TimedRun ImageWorkspace::build(const fs::path& image_template) const {
  return cli({"build", image_template.string()});
}

TimedRun ImageWorkspace::boot_check(const fs::path& image, int timeout_seconds) const {
  return cli({"boot", image.string(), "--check", "--timeout", std::to_string(timeout_seconds)});
}

fs::path ImageWorkspace::output_dir(const std::string& provider_id, const std::string& system_name) const {
  return root_ / "work" / provider_id / "imagebuild" / system_name;
}

namespace {

bool is_build_env_key(const std::string& word) {
  return word.size() == 64 && word.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

std::string logged_build_env_key(const std::string& log, const std::string& phrase) {
  for (auto at = log.find(phrase + " "); at != std::string::npos; at = log.find(phrase + " ", at + 1)) {
    const auto start = at + phrase.size() + 1;
    const auto end = log.find_first_of(" \n:", start);
    const std::string word = log.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (is_build_env_key(word)) return word;
  }
  return "";
}

fs::path kept_initramfs_dir() { return tests::live::persistent_cache_dir() / "oic-cache/initramfs"; }

std::string logged_build_env_key(const std::string& log) {
  for (const char* phrase : {kSavingBuildEnv, kReusingBuildEnv, "Build environment"}) {
    if (std::string key = logged_build_env_key(log, phrase); !key.empty()) return key;
  }
  return "";
}

namespace {

void drop_lines(const fs::path& file, const std::vector<std::string>& dropped) {
  std::ifstream in(file);
  std::string kept, line;
  while (std::getline(in, line)) {
    if (std::find(dropped.begin(), dropped.end(), line) == dropped.end()) kept += line + "\n";
  }
  in.close();
  std::ofstream(file, std::ios::trunc) << kept;
}

}  // namespace

fs::path elxr12_config_on_debian_mirror(const fs::path& dir) {
  const fs::path config = dir / "config";
  fs::copy(source_dir() / "config", config, fs::copy_options::recursive);
  const fs::path elxr = config / "osv/wind-river-elxr/elxr12";
  fs::copy_file(config / "osv/debian/debian12/providerconfigs/amd64_repo.yml", elxr / "providerconfigs/amd64_repo.yml",
                fs::copy_options::overwrite_existing);
  for (const auto& entry : fs::directory_iterator(elxr / "imageconfigs/defaultconfigs")) {
    drop_lines(entry.path(), {"    - uefi-ext4", "    - elxr-archive-keyring"});
  }
  return config;
}

}  // namespace tests::image
