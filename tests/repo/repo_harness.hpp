// Harness of the hermetic repository tests: a generated signed repository
// (make-debrepo.sh --more-relations) served by FaultHttpd on 127.0.0.1, a
// private config_dir whose debian12 provider fits that repository, a
// template pointing at it, and the built CLI run as a subprocess with its
// own cache, work and temp dirs.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "tests/fixtures/debrepo/debrepo.hpp"
#include "tests/fixtures/httpd/httpd_fixture.hpp"

extern char** environ;

namespace tests::repo {

namespace fs = std::filesystem;
using nlohmann::json;

// Builds run a copy of the CLI that finds only the fetcher, verifier and
// resolver stages (see download_only_cli), so a build whose packages are all
// fetched and verified ends here, whatever else the build tree holds.
inline const char* kInstallerMissing = "Failed to find the executable of stage 'installer'";

// The packages the template asks for besides the provider's essential
// base-tiny; the resolver must add the rest (see make-debrepo.sh).
inline const std::vector<std::string> kRequested = {"foo", "baz", "app", "tool"};

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// An OS default template made fit for a fixture's synthetic packages: its
// package list becomes `package` and its kernel none (with a console
// command line); everything else stays as the OS data ships it.
inline void use_fixture_package(const fs::path& defaults, const std::string& package) {
  std::string text = std::regex_replace(slurp(defaults), std::regex("  packages:\n(    - .*\n)+"),
                                        "  packages:\n    - " + package + "\n");
  const auto kernel = text.find("  kernel:\n");
  ASSERT_NE(kernel, std::string::npos) << defaults;
  write_file(defaults, text.substr(0, kernel) + "  kernel:\n    name: none\n    cmdline: \"console=ttyS0\"\n");
}

// Runs argv with stdout and stderr sent to files; no shell.
inline CliResult run_process(const std::vector<std::string>& args, const fs::path& scratch) {
  const fs::path out = scratch.string() + ".out", err = scratch.string() + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  CliResult result;
  if (rc != 0) return result;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

inline std::string sha256_hex(const fs::path& file) {
  const CliResult r = run_process({"/usr/bin/sha256sum", file.string()}, file.parent_path() / ".sha");
  return r.out.substr(0, 64);
}

// The SHA256 the repository's Packages index names for pool/main/`deb`:
// the name its object would have in the package cache (the cache keys
// objects by the expected hash, never by the bytes a server sent). Empty
// when the index does not list the file.
inline std::string indexed_sha256(const debrepo::DebRepo& repo, const std::string& deb) {
  std::istringstream index(slurp(repo.packages_base()));
  bool in_stanza = false;
  for (std::string line; std::getline(index, line);) {
    if (line.empty()) in_stanza = false;
    if (line == "Filename: pool/main/" + deb) in_stanza = true;
    if (in_stanza && line.starts_with("SHA256: ")) return line.substr(8);
  }
  return {};
}

// A copy of $OIC_CLI in a private tree beside copies of only the stages
// these tests exercise: the CLI looks for stages next to its own binary
// (<tree>/stages/<name>/stage-<name>), so it never finds an installer.
// Made once per test process, removed at its exit.
class DownloadOnlyTree {
 public:
  DownloadOnlyTree() {
    const char* cli = std::getenv("OIC_CLI");
    if (cli == nullptr || *cli == '\0') return;
    const fs::path build = fs::path(cli).parent_path().parent_path();
    tree_ = fs::temp_directory_path() / ("oic-repo-tools-" + std::to_string(::getpid()));
    fs::create_directories(tree_ / "supervisor");
    cli_ = tree_ / "supervisor" / fs::path(cli).filename();
    fs::copy_file(cli, cli_, fs::copy_options::overwrite_existing);
    for (const std::string name : {"fetcher", "verifier", "resolver"}) {
      fs::create_directories(tree_ / "stages" / name);
      // Copies, not links: the sandbox binds the stage binary by path.
      fs::copy_file(build / "stages" / name / ("stage-" + name), tree_ / "stages" / name / ("stage-" + name),
                    fs::copy_options::overwrite_existing);
    }
  }
  ~DownloadOnlyTree() {
    std::error_code ec;
    if (!tree_.empty()) fs::remove_all(tree_, ec);
  }
  DownloadOnlyTree(const DownloadOnlyTree&) = delete;
  DownloadOnlyTree& operator=(const DownloadOnlyTree&) = delete;
  const fs::path& cli() const { return cli_; }

 private:
  fs::path tree_;
  fs::path cli_;
};

inline const char* download_only_cli() {
  static const DownloadOnlyTree tree;
  return tree.cli().c_str();
}

// One test's world. Options go to make-debrepo.sh after --more-relations; the
// repository is made from the .debs and keys this process shares
// (debrepo::make_debrepo_from_base), its indexes and signatures are its own.
class RepoWorld {
 public:
  explicit RepoWorld(const std::vector<std::string>& repo_options = {}, std::vector<std::string> extra_packages = {}) {
    std::vector<std::string> options = {"--more-relations"};
    options.insert(options.end(), repo_options.begin(), repo_options.end());
    repo_ = debrepo::make_debrepo_from_base(root() / "repo", options);
    httpd_ = std::make_unique<fixtures::FaultHttpd>(repo_.root);
    write_config_dir();
    std::vector<std::string> packages = {"baz", "app", "tool"};
    packages.insert(packages.end(), extra_packages.begin(), extra_packages.end());
    write_template(template_path(), packages);
    write_file(config_path(), "workers: 2\nconfig_dir: " + (root() / "config").string() +
                                  "\ncache_dir: " + cache_dir().string() + "\nwork_dir: " +
                                  (root() / "work").string() + "\ntemp_dir: " + (root() / "tmp").string() + "\n");
    fs::create_directories(root() / "tmp");
  }

  const fs::path& root() const { return dir_.path(); }
  const debrepo::DebRepo& repo() const { return repo_; }
  fixtures::FaultHttpd& httpd() { return *httpd_; }
  fs::path template_path() const { return root() / "image.yml"; }
  fs::path config_path() const { return root() / "config.yml"; }
  fs::path cache_dir() const { return root() / "cache"; }
  fs::path objects_dir() const { return cache_dir() / "packages/sha256"; }
  fs::path object_path(const std::string& sha256) const { return objects_dir() / sha256.substr(0, 2) / sha256; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(httpd_->port()); }

  CliResult cli(std::vector<std::string> args) { return run_cli(kCliPath(), std::move(args)); }

  // The built CLI itself ($OIC_CLI), which finds every stage: a build goes
  // on to the installer and the diskmaker (with make-debrepo.sh --installable).
  CliResult full_cli(std::vector<std::string> args) {
    const char* cli = std::getenv("OIC_CLI");
    return run_cli(cli != nullptr ? cli : "", std::move(args));
  }

  // The provider's default raw template in this world's config_dir.
  fs::path default_raw_template() const {
    return root() / "config/osv/debian/debian12/imageconfigs/defaultconfigs/default-raw-x86_64.yml";
  }

  // Paths requested from the server, in order.
  std::vector<std::string> requested_paths() {
    std::vector<std::string> paths;
    for (const auto& entry : json::parse(httpd_->request_log())) paths.push_back(entry["path"].get<std::string>());
    return paths;
  }

  // Every file name in the cache that a crashed or failed download could
  // leave behind, and every staging directory.
  std::vector<std::string> leftovers() const {
    std::vector<std::string> found;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(cache_dir(), ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const bool staging = it->path().parent_path() == cache_dir() / "tmp";
      if (name.find(".tmp") != std::string::npos || name.find(".part") != std::string::npos || staging) {
        found.push_back(it->path().string());
      }
    }
    return found;
  }

  // sha256 names of the committed objects.
  std::vector<std::string> objects() const {
    std::vector<std::string> found;
    static const std::regex kObject("^[0-9a-f]{64}$");
    std::error_code ec;
    for (fs::recursive_directory_iterator it(objects_dir(), ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (std::regex_match(name, kObject)) found.push_back(name);
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  static const char* kCliPath() { return download_only_cli(); }

 private:
  CliResult run_cli(const std::string& cli, std::vector<std::string> args) {
    args.insert(args.begin(), {cli, "--config", config_path().string()});
    return run_process(args, root() / ("cli-" + std::to_string(++runs_)));
  }

  // The debian12 provider with its essential list and default packages
  // replaced by fixture packages, so the resolution can be checked exactly.
  void write_config_dir() {
    const fs::path source = fs::path(OIC_SOURCE_ROOT) / "config/osv/debian/debian12";
    const fs::path os_dir = root() / "config/osv/debian/debian12";
    fs::create_directories(os_dir);
    fs::copy(source, os_dir, fs::copy_options::recursive);
    write_file(os_dir / "chrootenvconfigs/chrootenv_x86_64.yml",
               "essential:\n  - base-tiny\npackages:\n  - oldfoo\n");
    use_fixture_package(os_dir / "imageconfigs/defaultconfigs/default-raw-x86_64.yml", "foo");
  }

  void write_template(const fs::path& path, const std::vector<std::string>& packages) const {
    std::string text =
        "image:\n  name: repo-test\n  version: \"1.0.0\"\n"
        "target:\n  os: debian\n  dist: debian12\n  arch: x86_64\n  imageType: raw\n"
        "packageRepositories:\n  - codename: " +
        repo_.codename + "\n    url: " + base_url() + "\n    pkey: " + repo_.keyring().string() +
        "\n    component: main\n"
        "systemConfig:\n  name: repo-test\n  packages:\n";
    for (const auto& p : packages) text += "    - " + p + "\n";
    write_file(path, text);
  }

  debrepo::TempDir dir_;
  debrepo::DebRepo repo_;
  std::unique_ptr<fixtures::FaultHttpd> httpd_;
  int runs_ = 0;
};

}  // namespace tests::repo
