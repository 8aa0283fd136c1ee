// The Debian 13 minimal raw sample as shipped builds from this machine's
// Debian mirror and boots to a login prompt. On a bookworm host the apt
// sources list no trixie: the debian13 suites take the URI of the bookworm
// source of the same archive (sameArchiveAs) and their Release files are
// verified by the pinned trixie keys. Read from outside, the image is
// trixie: /usr/lib/os-release says VERSION_ID 13 and dpkg's status has
// base-files 13.
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/image/image_workspace.hpp"
#include "tests/live/live_support.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;

constexpr int kBootTimeoutSeconds = 300;
constexpr const char* kProvider = "debian-debian13-x86_64";
constexpr const char* kSystemName = "Minimal_Raw";
constexpr const char* kBase = "debian13-x86_64-minimal-1.0.0";

std::string unquoted(const std::string& value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') return value.substr(1, value.size() - 2);
  return value;
}

// The Version of `package` in a dpkg status file, "" when it is not there.
std::string status_version(const std::string& status, const std::string& package) {
  const std::string stanza_start = "Package: " + package + "\n";
  std::size_t at = status.rfind(stanza_start, 0) == 0 ? 0 : status.find("\n" + stanza_start);
  if (at == std::string::npos) return "";
  const std::size_t end = status.find("\n\n", at + 1);
  const std::string stanza = status.substr(at, end == std::string::npos ? std::string::npos : end - at);
  const std::size_t version = stanza.find("\nVersion: ");
  if (version == std::string::npos) return "";
  const std::size_t start = version + std::string("\nVersion: ").size();
  return stanza.substr(start, stanza.find('\n', start) - start);
}

TEST(Debian13Sample, MinimalRawFromTheHostMirrorBootsToLoginAndIsTrixie) {
  const Preconditions pre = check_preconditions();
  if (!pre.skip.empty()) GTEST_SKIP() << pre.skip;
  ASSERT_TRUE(pre.missing.empty()) << pre.missing;
  ImageWorkspace workspace("oic-debian13");
  const ImageOutputs outputs{workspace.output_dir(kProvider, kSystemName), kBase};

  const TimedRun build = workspace.build(source_dir() / "image-templates/debian13-x86_64-minimal-raw.yml");
  std::cout << "[ image    ] build of the debian13 sample: " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  for (const fs::path& file : {outputs.raw(), outputs.lock(), outputs.sbom(), outputs.sums()}) {
    ASSERT_TRUE(fs::is_regular_file(file)) << file << " is missing";
  }

  // The lock: trixie suites only, at the URI of this machine's bookworm source.
  std::set<std::string> bookworm_uris;
  for (const auto& source : tests::live::bookworm_sources()) bookworm_uris.insert(source.uri);
  const nlohmann::json lock = nlohmann::json::parse(read_text(outputs.lock()));
  std::map<std::string, std::string> suite_of;
  for (const auto& repo : lock.at("repositories")) {
    const std::string suite = repo.at("deb").at("suite");
    suite_of[repo.at("name")] = suite;
    EXPECT_EQ(suite.rfind("trixie", 0), 0u) << "the lock names suite " << suite;
    std::string url = repo.at("url");
    while (!url.empty() && url.back() == '/') url.pop_back();
    EXPECT_TRUE(bookworm_uris.contains(url)) << url << " is not the URI of a bookworm source of this machine";
  }
  ASSERT_TRUE(suite_of.contains("trixie")) << lock.at("repositories").dump(2);
  std::string locked_base_files;
  for (const auto& package : lock.at("packages")) {
    if (package.at("name") == "base-files") locked_base_files = package.at("version");
  }
  EXPECT_EQ(locked_base_files.rfind("13", 0), 0u) << "base-files " << locked_base_files << " in the lock";

  // Read before booting: the boot is the image's first start and writes to it.
  const std::vector<Partition> partitions = read_partition_table(outputs.raw(), workspace.root() / "scratch");
  ASSERT_EQ(partitions.size(), 2u);
  const Ext4Reader rootfs(outputs.raw(), partitions[1].offset, workspace.root() / "scratch/ext4");
  const std::optional<std::string> os_release = rootfs.read_file("/usr/lib/os-release");
  ASSERT_TRUE(os_release.has_value()) << "/usr/lib/os-release is missing from the image";
  const std::map<std::string, std::string> release = parse_key_values(*os_release);
  EXPECT_EQ(unquoted(release.contains("VERSION_ID") ? release.at("VERSION_ID") : ""), "13") << *os_release;
  EXPECT_EQ(release.contains("VERSION_CODENAME") ? release.at("VERSION_CODENAME") : "", "trixie") << *os_release;
  const std::optional<std::string> status = rootfs.read_file("/var/lib/dpkg/status");
  ASSERT_TRUE(status.has_value()) << "/var/lib/dpkg/status is missing from the image";
  EXPECT_EQ(status_version(*status, "base-files"), locked_base_files);

  const TimedRun boot = workspace.boot_check(outputs.raw(), kBootTimeoutSeconds);
  std::cout << "[ image    ] boot of the debian13 sample to login: " << boot.seconds << " s\n";
  EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
}

}  // namespace
}  // namespace tests::image
