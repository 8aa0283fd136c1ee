// Helpers of the live tests: running programs as a user would, the
// persistent download cache, and apt in a scratch root as the reference
// answer. The mirror comes from this machine's apt sources at run time.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/apt_sources.hpp"
#include "tests/support/run_program.hpp"

namespace tests::live {

// Runs argv[0] (an absolute path) with `env` only, stdin from `input`
// (default /dev/null) and stdout/stderr through files in `scratch`.
using support::RunResult;
using support::run_program;

// Downloads kept across runs so that reruns (CI, a developer's loop) do not
// fetch the archive again: $OIC_LIVE_CACHE_DIR, else
// $XDG_CACHE_HOME/os-image-composer-tests, else ~/.cache/os-image-composer-tests.
std::filesystem::path persistent_cache_dir();

// The host's apt entries for the bookworm suites the Debian 12 provider uses
// (bookworm, bookworm-updates, bookworm-security; main). Empty when the
// machine has no bookworm source, which makes the live tests skip.
std::vector<config::AptSource> bookworm_sources();

// A package name and the version apt or the lock chose.
using PackageSet = std::map<std::string, std::string>;

// Parses the "Inst NAME (VERSION ...)" lines of `apt-get -s install`.
PackageSet parse_apt_simulation(const std::string& output);

// apt-get with all its state under `root`: its own sources.list (written from
// `sources`), lists, caches and an empty dpkg status, amd64 only.
class ScratchApt {
 public:
  ScratchApt(std::filesystem::path root, const std::vector<config::AptSource>& sources);

  // `apt-get update`; returns the run so callers can show apt's errors.
  RunResult update() const;
  // `apt-get -s install --no-install-recommends` of `names` plus every
  // package that is Essential: yes or Priority: required in the index (the
  // set mmdebstrap's minbase variant installs, which apt does not add by itself).
  RunResult simulate_install(const std::vector<std::string>& names) const;

  std::vector<std::string> options() const;

 private:
  RunResult apt_get(std::vector<std::string> args) const;

  std::filesystem::path root_;
};

}  // namespace tests::live
