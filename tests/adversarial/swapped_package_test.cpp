// A package file whose content is not what the lockfile says, handed to the
// real stage-installer (`stage installer --request`, as a build hands it a
// path in the read-only package cache): the installer hashes the file it
// opened before reading any of it, fails naming the package, and leaves
// the tree empty.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/repo/repo_harness.hpp"
#include "tests/support/temp_dir.hpp"

namespace tests::adversarial {
namespace {

namespace fs = std::filesystem;
using tests::repo::CliResult;

TEST(SwappedPackage, TheInstallerRefusesAPackageWhoseHashIsNotTheLockfiles) {
  const char* cli = std::getenv("OIC_CLI");
  ASSERT_TRUE(cli != nullptr && *cli != '\0') << "OIC_CLI is not set (meson sets it)";
  const tests::TempDir dir;
  const fs::path deb = dir.path() / "cache/evil_1_amd64.deb";
  tests::repo::write_file(deb, "not the package the lockfile names\n");
  const std::string actual = tests::repo::sha256_hex(deb);
  for (const char* sub : {"root", "out"}) fs::create_directories(dir.path() / sub);
  const fs::path request = dir.path() / "installer.json";
  tests::repo::write_file(request, R"({"installer": {
      "packages": [{"file": {"path": ")" + deb.string() + R"("}, "name": "evil", "version": "1",
                    "architecture": "amd64", "sha256": ")" + std::string(64, 'a') + R"("}],
      "rootDir": {"path": ")" + (dir.path() / "root").string() + R"(", "writable": true},
      "outputDir": {"path": ")" + (dir.path() / "out").string() + R"(", "writable": true}}})");
  const CliResult r = tests::repo::run_process({cli, "stage", "installer", "--request", request.string()},
                                               dir.path() / "cli");
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("Failed to install package 'evil': its file has sha256 " + actual + ", the lockfile says " +
                       std::string(64, 'a')),
            std::string::npos)
      << r.out << r.err;
  // Only the mount points of the tree's /proc and /dev (`stage` makes them).
  for (const auto& entry : fs::directory_iterator(dir.path() / "root")) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE((name == "proc" || name == "dev") && fs::is_empty(entry.path())) << "unpacked: " << entry.path();
  }
}

}  // namespace
}  // namespace tests::adversarial
