// Test helper for the RPM package checks: the signed small repository of
// tests/fixtures/rpmrepo (built once per variant and test binary), its keys
// as the verifier takes them, and rpmkeys as the oracle. Header-only.
#pragma once

#include <fcntl.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.hpp"
#include "stages/verifier/file_bytes.hpp"
#include "stages/verifier/verifier_stage.hpp"
#include "tests/fixtures/rpmrepo/rpmrepo.hpp"

namespace stage::verifier::rpm::test {

using tests::rpmrepo::RpmRepo;
using tests::rpmrepo::TempDir;

inline constexpr const char* kRepoName = "oic-rpm";

// "" is the untampered repository; otherwise one tamper option.
inline const RpmRepo& fixture(const std::string& variant) {
  static TempDir dir;
  static std::map<std::string, RpmRepo> built;
  auto it = built.find(variant);
  if (it == built.end()) {
    const std::string name = variant.empty() ? "good" : variant.substr(2);
    auto tamper = variant.empty() ? std::vector<std::string>{} : std::vector<std::string>{variant};
    it = built.emplace(variant, tests::rpmrepo::make_small_rpmrepo(dir.path() / name, tamper)).first;
  }
  return it->second;
}

inline RepositoryKeys keys_of(const std::filesystem::path& key_file, const std::string& pin = "",
                              const std::string& repo = kRepoName) {
  return {repo, {{"key file of " + repo, read_file_bytes(key_file), pin}}};
}

inline base::UniqueFd open_rpm(const std::filesystem::path& file) {
  base::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw std::runtime_error("cannot open " + file.string());
  return fd;
}

// What rpm itself says, with signatures required and `key` the only key.
inline bool rpmkeys_accepts(const std::filesystem::path& rpm, const std::filesystem::path& key) {
  TempDir db;
  const std::string dbpath = "_dbpath " + db.path().string();
  if (tests::rpmrepo::run_argv({"/usr/bin/rpmkeys", "--define", dbpath, "--import", key.string()}) != 0) {
    throw std::runtime_error("rpmkeys --import failed");
  }
  return tests::rpmrepo::run_argv({"/usr/bin/rpmkeys", "--define", dbpath, "--define", "_pkgverify_level signature",
                                   "--checksig", rpm.string()}) == 0;
}

}  // namespace stage::verifier::rpm::test
