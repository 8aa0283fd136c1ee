#include "config/provider.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <unistd.h>

#include "build_info.hpp"
#include "config/apt_sources.hpp"
#include "config/load.hpp"
#include "base/error.hpp"
#include "tests/support/temp_dir.hpp"

namespace config {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

const fs::path kSourceRoot = OIC_SOURCE_ROOT;
const fs::path kConfigDir = kSourceRoot / "config";

using TempDir = ::tests::TempDir;

// An apt configuration serving bookworm, trixie and their -updates, not
// security; and Ubuntu's noble and resolute, as an Ubuntu host's would.
TempDir fake_apt() {
  TempDir apt;
  apt.write("sources.list.d/debian.sources",
            "Types: deb\n"
            "URIs: http://deb.example.invalid/debian/\n"
            "Suites: bookworm bookworm-updates trixie trixie-updates\n"
            "Components: main contrib\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
  apt.write("sources.list.d/ubuntu.sources",
            "Types: deb\nURIs: http://ubuntu.example.invalid/ubuntu/\nSuites: noble resolute\n"
            "Components: main restricted universe multiverse\n");
  return apt;
}

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    return e.what();
  }
  return "(no error)";
}

bool is_url_or_path(const std::string& s) {
  return s.starts_with("https://") || s.starts_with("http://") || s.starts_with("file://") || s.starts_with('/');
}

TEST(ProviderData, EveryOsDirectoryLoadsForEveryDeclaredArch) {
  const TempDir apt = fake_apt();
  const auto targets = list_providers(kConfigDir);
  ASSERT_GE(targets.size(), 8u);
  for (const auto& t : targets) {
    SCOPED_TRACE(t.os + "/" + t.dist + "/" + t.arch);
    const auto p = load_provider(kConfigDir, t.os, t.dist, t.arch, {.etc_apt = apt.path()});
    EXPECT_EQ(p.id, t.os + "-" + t.dist + "-" + t.arch);
    EXPECT_FALSE(p.release_version.empty());
    ASSERT_FALSE(p.repositories.empty());
    EXPECT_FALSE(p.chroot_env.packages.empty());
    for (const auto& repo : p.repositories) {
      SCOPED_TRACE(repo.name);
      EXPECT_TRUE(is_url_or_path(repo.base_url)) << repo.base_url;
      EXPECT_TRUE(repo.release_file.starts_with(repo.base_url + "/")) << repo.release_file;
      EXPECT_EQ(repo.base_url.find("{arch}"), std::string::npos);
      for (const auto& key : repo.keys) EXPECT_TRUE(is_url_or_path(key.location)) << key.location;
      if (repo.gpg_check || repo.repo_gpg_check) {
        EXPECT_FALSE(repo.keys.empty());
      }
    }
    // Every default image type this OS ships names this OS in its target.
    for (const char* type : {"raw", "iso", "initrd"}) {
      const auto file = p.os_dir / "imageconfigs/defaultconfigs" / ("default-" + std::string(type) + "-" + t.arch + ".yml");
      if (!fs::exists(file)) continue;
      const YAML::Node target = YAML::LoadFile(file.string())["target"];
      EXPECT_EQ(target["os"].as<std::string>(), t.os) << file;
      EXPECT_EQ(target["dist"].as<std::string>(), t.dist) << file;
      EXPECT_EQ(target["arch"].as<std::string>(), t.arch) << file;
    }
  }
}

TEST(ProviderData, ListsTheFourShippedOperatingSystems) {
  const auto targets = list_providers(kConfigDir);
  for (const auto& [os, dist] : {std::pair{"wind-river-elxr", "elxr12"}, std::pair{"azure-linux", "azl3"},
                                 std::pair{"edge-microvisor-toolkit", "emt3"}, std::pair{"debian", "debian12"},
                                 std::pair{"redhat-compatible-distro", "el10"}}) {
    SCOPED_TRACE(dist);
    EXPECT_NE(std::find(targets.begin(), targets.end(), ProviderTarget{os, dist, "x86_64"}), targets.end());
    EXPECT_NE(std::find(targets.begin(), targets.end(), ProviderTarget{os, dist, "aarch64"}), targets.end());
  }
}

TEST(ProviderData, ElxrUsesDebianArchitectureNamesAndDetachedReleaseSignature) {
  const auto p = load_provider(kConfigDir, "wind-river-elxr", "elxr12", "x86_64");
  EXPECT_EQ(p.package_type, PackageType::kDeb);
  EXPECT_EQ(p.package_arch, "amd64");
  ASSERT_EQ(p.repositories.size(), 1u);
  const auto& repo = p.repositories[0];
  EXPECT_EQ(repo.base_url, "https://mirror.elxr.dev/elxr");
  EXPECT_EQ(repo.suite, "aria");
  EXPECT_EQ(repo.components, (Strings{"main", "non-free-firmware"}));
  EXPECT_EQ(repo.architectures, (Strings{"amd64", "all"}));
  EXPECT_EQ(repo.release_file, "https://mirror.elxr.dev/elxr/dists/aria/Release");
  EXPECT_EQ(repo.release_sign, "https://mirror.elxr.dev/elxr/dists/aria/Release.gpg");
  ASSERT_EQ(repo.keys.size(), 1u);
  EXPECT_EQ(repo.keys[0].location, "https://mirror.elxr.dev/elxr/public.gpg");
  EXPECT_EQ(p.chroot_env.packages, (Strings{"mmdebstrap"}));
  EXPECT_EQ(p.chroot_env.essential.front(), "base-files");
}

TEST(ProviderData, RpmBaseUrlGetsTheArchitectureAndSignedRepomdItsAsc) {
  const auto p = load_provider(kConfigDir, "azure-linux", "azl3", "aarch64");
  EXPECT_EQ(p.package_type, PackageType::kRpm);
  EXPECT_EQ(p.package_arch, "aarch64");
  ASSERT_EQ(p.repositories.size(), 1u);
  const auto& repo = p.repositories[0];
  EXPECT_TRUE(repo.base_url.ends_with("/azurelinux/3.0/prod/base/aarch64")) << repo.base_url;
  EXPECT_EQ(repo.release_file, repo.base_url + "/repodata/repomd.xml");
  EXPECT_EQ(repo.release_sign, repo.base_url + "/repodata/repomd.xml.asc");
  EXPECT_EQ(repo.architectures, (Strings{"aarch64", "noarch"}));
}

// The vendor keys are files of the provider folder, pinned by fingerprint,
// never fetched from the repository they check.
TEST(ProviderData, AzlKeysAreShippedFilesPinnedByFingerprint) {
  const auto p = load_provider(kConfigDir, "azure-linux", "azl3", "x86_64");
  ASSERT_EQ(p.repositories.size(), 1u);
  const auto& keys = p.repositories[0].keys;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].location, (p.os_dir / "keys/MICROSOFT-RPM-GPG-KEY").string());
  EXPECT_EQ(keys[1].location, (p.os_dir / "keys/MICROSOFT-METADATA-GPG-KEY").string());
  for (const auto& key : keys) {
    EXPECT_TRUE(fs::is_regular_file(key.location)) << key.location;
    EXPECT_EQ(key.fingerprints, (Strings{"2BC94FFF7015A5F28F1537AD0CD9FED33135CE90",
                                         "BC528686B50D79E339D3721CEB3E94ADBE1229CF"}));
  }
}

// emt3 publishes an unsigned repomd: no signature file is asked for, and the
// packages' signatures by the pinned Intel key are the anchor.
TEST(ProviderData, EmtChecksPackageSignaturesWithItsShippedKeyOnly) {
  const auto p = load_provider(kConfigDir, "edge-microvisor-toolkit", "emt3", "x86_64");
  ASSERT_EQ(p.repositories.size(), 1u);
  const auto& repo = p.repositories[0];
  EXPECT_TRUE(repo.gpg_check);
  EXPECT_FALSE(repo.repo_gpg_check);
  EXPECT_TRUE(repo.release_sign.empty());
  ASSERT_EQ(repo.keys.size(), 1u);
  EXPECT_EQ(repo.keys[0].location, (p.os_dir / "keys/INTEL-RPM-GPG-KEY").string());
  EXPECT_EQ(repo.keys[0].fingerprints, (Strings{"A09FA73087A8689BD61FD5E96847E910F78C54C7"}));
}

TEST(ProviderData, RpmProvidersNameTheirRpmdbAndDeferredPackages) {
  for (const auto& [os, dist] : {std::pair{"azure-linux", "azl3"}, std::pair{"edge-microvisor-toolkit", "emt3"}}) {
    SCOPED_TRACE(dist);
    const DistributionFacts facts = load_provider(kConfigDir, os, dist, "x86_64").facts;
    EXPECT_EQ(facts.rpm_db_path, "/var/lib/rpm");
    EXPECT_EQ(facts.deferred_packages, (Strings{"initramfs"}));
  }
}

TEST(ProviderData, DebianTakesItsRepositoryFromTheAptSources) {
  const TempDir apt = fake_apt();
  const auto p = load_provider(kConfigDir, "debian", "debian12", "x86_64", {.etc_apt = apt.path()});
  // bookworm-security is optional and the fake apt sources lack it.
  ASSERT_EQ(p.repositories.size(), 2u);
  const auto& main = p.repositories[0];
  EXPECT_EQ(main.name, "bookworm");
  EXPECT_TRUE(main.from_host_apt);
  EXPECT_EQ(main.base_url, "http://deb.example.invalid/debian");
  EXPECT_EQ(main.release_file, "http://deb.example.invalid/debian/dists/bookworm/Release");
  EXPECT_EQ(main.release_sign, "http://deb.example.invalid/debian/dists/bookworm/Release.gpg");
  ASSERT_EQ(main.keys.size(), 1u);
  EXPECT_EQ(main.keys[0].location, "/usr/share/keyrings/debian-archive-keyring.gpg");
  EXPECT_EQ(main.keys[0].fingerprints, (Strings{"B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8"}));
  EXPECT_EQ(p.repositories[1].suite, "bookworm-updates");
}

TEST(ProviderData, DebianWithoutABookwormSourceNamesWhereItLooked) {
  TempDir apt;
  apt.write("sources.list", "deb http://deb.example.invalid/debian trixie main\n");
  const std::string message =
      error_of([&] { load_provider(kConfigDir, "debian", "debian12", "x86_64", {.etc_apt = apt.path()}); });
  EXPECT_NE(message.find("suite 'bookworm' component 'main' in '" + apt.path().string() + "'"), std::string::npos)
      << message;
  EXPECT_NE(message.find("providerconfigs/amd64_repo.yml:"), std::string::npos) << message;
  EXPECT_NE(message.find("packageRepositories"), std::string::npos) << message;
}

TEST(ProviderData, TemplateRepositoriesReplaceTheHostAptEntries) {
  TempDir empty_apt;
  const auto p = load_provider(kConfigDir, "debian", "debian12", "x86_64",
                               {.etc_apt = empty_apt.path(), .skip_host_apt = true});
  EXPECT_TRUE(p.repositories.empty());
  EXPECT_FALSE(p.chroot_env.packages.empty());
}

TEST(ProviderData, ThisMachineServesDebian12) {
  const auto sources = read_apt_sources();
  if (!find_debian_source(sources, "bookworm")) GTEST_SKIP() << "no bookworm main entry in /etc/apt";
  const auto p = load_provider(kConfigDir, "debian", "debian12", "x86_64");
  ASSERT_FALSE(p.repositories.empty());
  EXPECT_TRUE(p.repositories[0].from_host_apt);
  EXPECT_EQ(p.repositories[0].base_url, find_debian_source(sources, "bookworm")->uri);
}

// The distribution facts of a config.yml entry, all four valid.
constexpr std::string_view kGoodFacts =
    "  initramfsTool: dracut\n  purlType: rpm\n  sudoGroup: wheel\n  initrdFileName: initramfs-{kver}.img\n";

// A minimal, valid deb provider; each bad-data case replaces one file.
void write_good_provider(const TempDir& dir) {
  dir.write("osv/t/t1/config.yml",
            "x86_64:\n  dist: t1\n  arch: x86_64\n  pkgType: deb\n"
            "  chrootenvConfigFile: chrootenvconfigs/chrootenv_x86_64.yml\n  releaseVersion: \"1\"\n" +
                std::string(kGoodFacts));
  dir.write("osv/t/t1/providerconfigs/amd64_repo.yml",
            "repositories:\n  - name: r\n    type: deb\n    baseURL: https://r.example.invalid/d/\n"
            "    suite: s\n    component: main\n    pbGPGKey: keys/r.gpg\n");
  dir.write("osv/t/t1/chrootenvconfigs/chrootenv_x86_64.yml", "essential: [dpkg]\npackages: [apt]\n");
}

TEST(ProviderData, LoadsAMinimalProviderWithDefaults) {
  TempDir dir;
  write_good_provider(dir);
  const auto p = load_provider(dir.path(), "t", "t1", "x86_64");
  ASSERT_EQ(p.repositories.size(), 1u);
  EXPECT_EQ(p.repositories[0].base_url, "https://r.example.invalid/d");
  EXPECT_EQ(p.repositories[0].keys[0].location, "https://r.example.invalid/d/keys/r.gpg");
  EXPECT_TRUE(p.repositories[0].enabled);
  EXPECT_EQ(p.chroot_env.essential, (Strings{"dpkg"}));
}

// An OS directory as the reference tool ships it: config.yml naming the
// suite as dist, repository entries whose name is the suite, with pkgPrefix,
// absolute releaseFile/releaseSign URLs and buildPath.
constexpr std::string_view kReferenceRepoEntry =
    "  - name: \"{suite}\"\n"
    "    type: \"deb\"\n"
    "    baseURL: \"https://ref.example.invalid/elxr\"\n"
    "    pkgPrefix: \"https://ref.example.invalid/elxr/\"\n"
    "    releaseFile: \"https://ref.example.invalid/elxr/dists/{suite}/Release\"\n"
    "    releaseSign: \"https://ref.example.invalid/elxr/dists/{suite}/Release.gpg\"\n"
    "    pbGPGKey: \"https://ref.example.invalid/elxr/public.gpg\"\n"
    "    gpgCheck: true\n"
    "    repoGPGCheck: true\n"
    "    enabled: true\n"
    "    component: \"main non-free-firmware\"\n"
    "    buildPath: \"./builds/elxr12/{suite}\"\n";

std::string reference_repo_entry(const std::string& suite) {
  std::string entry(kReferenceRepoEntry);
  for (auto at = entry.find("{suite}"); at != std::string::npos; at = entry.find("{suite}")) {
    entry.replace(at, 7, suite);
  }
  return entry;
}

void write_reference_provider(TempDir& dir, const std::string& repositories) {
  dir.write("osv/wind-river-elxr/elxr12/config.yml",
            "x86_64:\n  dist: aria\n  arch: x86_64\n  pkgType: deb\n"
            "  chrootenvConfigFile: chrootenvconfigs/chrootenv_x86_64.yml\n  releaseVersion: \"12.10.0.0\"\n");
  dir.write("osv/wind-river-elxr/elxr12/providerconfigs/amd64_repo.yml", "repositories:\n" + repositories);
  dir.write("osv/wind-river-elxr/elxr12/chrootenvconfigs/chrootenv_x86_64.yml",
            "essential: [dpkg, apt]\npackages: [mmdebstrap]\n");
}

ProviderData load_reference_provider(const TempDir& dir, Strings& warnings) {
  ProviderOptions options;
  options.warn = [&](const std::string& message) { warnings.push_back(message); };
  return load_provider(dir.path(), "wind-river-elxr", "elxr12", "x86_64", options);
}

TEST(ProviderData, ReadsTheReferenceToolsRepositoryFiles) {
  TempDir dir;
  write_reference_provider(dir, reference_repo_entry("aria") + reference_repo_entry("aria-updates"));
  Strings warnings;
  const auto p = load_reference_provider(dir, warnings);
  ASSERT_EQ(p.repositories.size(), 2u);
  const Repository& repo = p.repositories[1];
  EXPECT_EQ(repo.name, "aria-updates");
  EXPECT_EQ(repo.suite, "aria-updates");
  EXPECT_EQ(repo.base_url, "https://ref.example.invalid/elxr");
  EXPECT_EQ(repo.components, (Strings{"main", "non-free-firmware"}));
  EXPECT_EQ(repo.release_file, "https://ref.example.invalid/elxr/dists/aria-updates/Release");
  EXPECT_EQ(repo.release_sign, "https://ref.example.invalid/elxr/dists/aria-updates/Release.gpg");
  ASSERT_EQ(repo.keys.size(), 1u);
  EXPECT_EQ(repo.keys[0].location, "https://ref.example.invalid/elxr/public.gpg");
  EXPECT_TRUE(repo.gpg_check && repo.repo_gpg_check && repo.enabled);
  // dist: aria once, buildPath once for the file (not once per entry).
  ASSERT_EQ(warnings.size(), 2u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find("config.yml:2: dist 'aria' is not the directory's name 'elxr12'"), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("amd64_repo.yml:13: 'buildPath' is ignored"), std::string::npos) << warnings[1];
}

TEST(ProviderData, RefusesAPkgPrefixOtherThanTheBaseUrl) {
  TempDir dir;
  std::string entry = reference_repo_entry("aria");
  entry.replace(entry.find("pkgPrefix: \"https://ref.example.invalid/elxr/"), 45,
                "pkgPrefix: \"https://pool.example.invalid/");
  write_reference_provider(dir, entry);
  Strings warnings;
  const std::string message = error_of([&] { load_reference_provider(dir, warnings); });
  EXPECT_NE(message.find("amd64_repo.yml:5': pkgPrefix 'https://pool.example.invalid/' differs from baseURL"),
            std::string::npos)
      << message;
}

// The reference tool's way of saying "no signature checks" for a deb source.
TEST(ProviderData, ATrustedPbGpgKeyTurnsTheChecksOff) {
  TempDir dir;
  std::string entry = reference_repo_entry("aria");
  entry.replace(entry.find("\"https://ref.example.invalid/elxr/public.gpg\""), 45, "\"[trusted=yes]\"");
  write_reference_provider(dir, entry);
  Strings warnings;
  const auto p = load_reference_provider(dir, warnings);
  ASSERT_EQ(p.repositories.size(), 1u);
  EXPECT_TRUE(p.repositories[0].keys.empty());
  EXPECT_FALSE(p.repositories[0].gpg_check);
  EXPECT_FALSE(p.repositories[0].repo_gpg_check);
}

TEST(ProviderData, RejectsBadDataNamingFileAndLine) {
  struct Case {
    const char* name;
    const char* file;  // relative to osv/t/t1, replaces the good one
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      // Typos in key names must not be silently ignored.
      {"unknown repo key", "providerconfigs/amd64_repo.yml",
       "repositories:\n  - name: r\n    type: deb\n    baseUrl: https://x.example.invalid\n",
       "amd64_repo.yml:4': unknown key 'baseUrl'"},
      // A deb provider cannot use an rpm repository.
      {"type mismatch", "providerconfigs/amd64_repo.yml",
       "repositories:\n  - name: r\n    type: rpm\n    baseURL: https://x.example.invalid\n",
       "amd64_repo.yml:3': repository type 'rpm' does not match pkgType 'deb'"},
      // Signature checks are on by default and need a key.
      {"no key", "providerconfigs/amd64_repo.yml",
       "repositories:\n  - name: r\n    type: deb\n    baseURL: https://x.example.invalid\n    suite: s\n",
       "amd64_repo.yml:2': repository 'r' checks signatures but names no key"},
      // Pins are full fingerprints, not short key ids.
      {"short fingerprint", "providerconfigs/amd64_repo.yml",
       "repositories:\n  - name: r\n    type: deb\n    baseURL: https://x.example.invalid\n    suite: s\n"
       "    pbGPGKey: /k.gpg\n    keyFingerprints: [8783D481]\n",
       "amd64_repo.yml:7': key fingerprint '8783D481' is not 40 hex digits"},
      // The base URL is fetched from, so it must be a URL.
      {"relative base", "providerconfigs/amd64_repo.yml",
       "repositories:\n  - name: r\n    type: deb\n    baseURL: mirror/debian\n    suite: s\n    pbGPGKey: /k\n",
       "amd64_repo.yml:4': baseURL must be an http(s):// or file:// URL"},
      // A host-apt entry must not also name a URL.
      {"host-apt with url", "providerconfigs/amd64_repo.yml",
       "repositories:\n  - name: r\n    type: deb\n    source: host-apt\n    suite: s\n"
       "    baseURL: https://x.example.invalid\n",
       "amd64_repo.yml:6': a host-apt repository takes its URL from apt"},
      // YAML syntax errors carry the parser's line.
      {"yaml syntax", "providerconfigs/amd64_repo.yml", "repositories:\n  - name: [r\n", "amd64_repo.yml:"},
      // A package may appear in only one chroot env list.
      {"overlap", "chrootenvconfigs/chrootenv_x86_64.yml", "essential: [dpkg]\npackages: [dpkg]\n",
       "chrootenv_x86_64.yml:1': package 'dpkg' is listed twice"},
      // packages is the required list.
      {"no packages", "chrootenvconfigs/chrootenv_x86_64.yml", "essential: [dpkg]\n",
       "chrootenv_x86_64.yml:1': 'packages' is required"},
      // pkgType selects the whole pipeline; only two exist.
      {"bad pkgType", "config.yml",
       "x86_64:\n  dist: t1\n  arch: x86_64\n  pkgType: apk\n  chrootenvConfigFile: c.yml\n  releaseVersion: \"1\"\n",
       "config.yml:4': pkgType must be deb or rpm, not 'apk'"},
      // The requested architecture must be declared.
      {"undeclared arch", "config.yml",
       "aarch64:\n  dist: t1\n  arch: aarch64\n  pkgType: deb\n  chrootenvConfigFile: c.yml\n  releaseVersion: \"1\"\n",
       "config.yml:1': architecture 'x86_64' is not declared"},
      // Data files must not point outside the OS directory.
      {"escaping chroot file", "config.yml",
       "x86_64:\n  dist: t1\n  arch: x86_64\n  pkgType: deb\n  chrootenvConfigFile: ../../x.yml\n  releaseVersion: \"1\"\n",
       "config.yml:5': chrootenvConfigFile must stay inside"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    write_good_provider(dir);
    dir.write(fs::path("osv/t/t1") / c.file, c.text);
    const std::string message = error_of([&] { load_provider(dir.path(), "t", "t1", "x86_64"); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

// config.yml with the good facts, one of them replaced by `fact_line`
// (empty: left out).
std::string config_with_fact(std::string_view key, std::string_view fact_line) {
  std::string text =
      "x86_64:\n  dist: t1\n  arch: x86_64\n  pkgType: deb\n"
      "  chrootenvConfigFile: chrootenvconfigs/chrootenv_x86_64.yml\n  releaseVersion: \"1\"\n";
  std::istringstream facts{std::string(kGoodFacts)};
  for (std::string line; std::getline(facts, line);) {
    const bool replaced = line.starts_with("  " + std::string(key) + ":");
    if (!replaced) text += line + "\n";
    if (replaced && !fact_line.empty()) text += "  " + std::string(fact_line) + "\n";
  }
  return text;
}

TEST(ProviderData, ReadsTheDistributionFactsOfItsEntry) {
  TempDir dir;
  write_good_provider(dir);
  // A deb provider with rpm facts: nothing follows from pkgType.
  const DistributionFacts facts = load_provider(dir.path(), "t", "t1", "x86_64").facts;
  EXPECT_EQ(facts.initramfs_tool, "dracut");
  EXPECT_EQ(facts.purl_type, "rpm");
  EXPECT_EQ(facts.sudo_group, "wheel");
  EXPECT_EQ(facts.initrd_file_name, "initramfs-{kver}.img");
}

TEST(ProviderData, ShippedProvidersKeepTheirDistributionFacts) {
  const TempDir apt = fake_apt();
  for (const auto& [os, dist] : {std::pair{"debian", "debian12"}, std::pair{"wind-river-elxr", "elxr12"}}) {
    SCOPED_TRACE(dist);
    const DistributionFacts facts = load_provider(kConfigDir, os, dist, "x86_64", {.etc_apt = apt.path()}).facts;
    EXPECT_EQ(facts.initramfs_tool, "initramfs-tools");
    EXPECT_EQ(facts.purl_type, "deb");
    EXPECT_EQ(facts.sudo_group, "sudo");
    EXPECT_EQ(facts.initrd_file_name, "initrd.img-{kver}");
    EXPECT_EQ(facts.grub.mkstandalone, "grub-mkstandalone");
    EXPECT_EQ(facts.grub.config_dir, "/boot/grub");
    EXPECT_EQ(facts.grub.modules_package, "grub-efi-amd64-bin");
    EXPECT_EQ(facts.grub.mkimage, "grub-mkimage");
    EXPECT_EQ(facts.grub.bios_modules_dir, "/usr/lib/grub/i386-pc");
    const GrubNames arm = load_provider(kConfigDir, os, dist, "aarch64", {.etc_apt = apt.path()}).facts.grub;
    EXPECT_EQ(arm.mkimage, "grub-mkimage");
    EXPECT_EQ(arm.bios_modules_dir, "");  // no legacy BIOS boot on arm64
  }
  for (const auto& [os, dist] : {std::pair{"azure-linux", "azl3"}, std::pair{"edge-microvisor-toolkit", "emt3"}}) {
    SCOPED_TRACE(dist);
    const DistributionFacts facts = load_provider(kConfigDir, os, dist, "x86_64").facts;
    EXPECT_EQ(facts.initramfs_tool, "dracut");
    EXPECT_EQ(facts.purl_type, "rpm");
    EXPECT_EQ(facts.sudo_group, "wheel");
    EXPECT_EQ(facts.initrd_file_name, "initramfs-{kver}.img");
    // Azure Linux's grub2 ships /usr/bin/grub2-mkstandalone, grub2-efi the modules.
    EXPECT_EQ(facts.grub.mkstandalone, "grub2-mkstandalone");
    EXPECT_EQ(facts.grub.modules_dir, "/usr/lib/grub/x86_64-efi");
    EXPECT_EQ(facts.grub.config_dir, "/boot/grub2");
    EXPECT_EQ(facts.grub.tools_package, "grub2");
    EXPECT_EQ(facts.grub.modules_package, "grub2-efi");
    EXPECT_EQ(facts.grub.mkimage, "grub2-mkimage");
    EXPECT_EQ(facts.grub.bios_modules_dir, "/usr/lib/grub/i386-pc");
    const GrubNames arm = load_provider(kConfigDir, os, dist, "aarch64").facts.grub;
    EXPECT_EQ(arm.modules_dir, "/usr/lib/grub/arm64-efi");
    EXPECT_EQ(arm.bios_modules_dir, "");
  }
}

// A config.yml written for the Go tool has none of the fact keys: each left
// out is the provider's family's value, the others stay as written.
TEST(ProviderData, AMissingDistributionFactIsItsFamilysValue) {
  struct Case {
    const char* key;
    const char* pkg_type;
    DistributionFacts expected;
  };
  const Case cases[] = {
      {"initramfsTool", "deb", {"initramfs-tools", "rpm", "wheel", "initramfs-{kver}.img"}},
      {"purlType", "deb", {"dracut", "deb", "wheel", "initramfs-{kver}.img"}},
      {"sudoGroup", "deb", {"dracut", "rpm", "sudo", "initramfs-{kver}.img"}},
      {"initrdFileName", "deb", {"dracut", "rpm", "wheel", "initrd.img-{kver}"}},
      {"sudoGroup", "rpm", {"dracut", "rpm", "wheel", "initramfs-{kver}.img"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.key) + " " + c.pkg_type);
    TempDir dir;
    write_good_provider(dir);
    std::string config = config_with_fact(c.key, "");
    config.replace(config.find("pkgType: deb"), 12, std::string("pkgType: ") + c.pkg_type);
    dir.write("osv/t/t1/config.yml", config);
    if (std::string_view(c.pkg_type) == "rpm") {
      dir.write("osv/t/t1/providerconfigs/x86_64_repo.yml",
                "repositories:\n  - name: r\n    type: rpm\n    baseURL: https://r.example.invalid/r/\n    gpgKey: keys/r.gpg\n");
    }
    const DistributionFacts facts = load_provider(dir.path(), "t", "t1", "x86_64").facts;
    EXPECT_EQ(facts.initramfs_tool, c.expected.initramfs_tool);
    EXPECT_EQ(facts.purl_type, c.expected.purl_type);
    EXPECT_EQ(facts.sudo_group, c.expected.sudo_group);
    EXPECT_EQ(facts.initrd_file_name, c.expected.initrd_file_name);
    EXPECT_EQ(facts.rpm_db_path, std::string_view(c.pkg_type) == "rpm" ? "/var/lib/rpm" : "");
    EXPECT_TRUE(facts.deferred_packages.empty());
    const bool rpm = std::string_view(c.pkg_type) == "rpm";
    EXPECT_EQ(facts.grub.mkstandalone, rpm ? "grub2-mkstandalone" : "grub-mkstandalone");
    EXPECT_EQ(facts.grub.modules_dir, "/usr/lib/grub/x86_64-efi");
    EXPECT_EQ(facts.grub.config_dir, rpm ? "/boot/grub2" : "/boot/grub");
    EXPECT_EQ(facts.grub.tools_package, rpm ? "grub2-tools-extra" : "grub-common");
    EXPECT_EQ(facts.grub.modules_package, rpm ? "grub2-efi-x64-modules" : "grub-efi-amd64-bin");
    EXPECT_EQ(facts.grub.mkimage, rpm ? "grub2-mkimage" : "grub-mkimage");
    EXPECT_EQ(facts.grub.bios_modules_dir, "/usr/lib/grub/i386-pc");
    EXPECT_EQ(facts.initrd_compression, "gzip");
  }
}

TEST(ProviderData, AnInitrdCompressionIsReadAsWritten) {
  TempDir dir;
  write_good_provider(dir);
  dir.write("osv/t/t1/config.yml", config_with_fact("sudoGroup", "sudoGroup: sudo\n  initrdCompression: zstd"));
  EXPECT_EQ(load_provider(dir.path(), "t", "t1", "x86_64").facts.initrd_compression, "zstd");
}

// `grub:` after sudoGroup (line 9): the map starts on line 10.
std::string config_with_grub(std::string_view grub_lines) {
  return config_with_fact("sudoGroup", "sudoGroup: wheel\n  grub:\n" + std::string(grub_lines));
}

TEST(ProviderData, ReadsGrubNamesAKeyLeftOutBeingTheFamilys) {
  TempDir dir;
  write_good_provider(dir);
  dir.write("osv/t/t1/config.yml", config_with_grub("    mkstandalone: grub2-mkstandalone\n"
                                                    "    configDir: /boot/grub2\n    toolsPackage: grub2\n"));
  const GrubNames grub = load_provider(dir.path(), "t", "t1", "x86_64").facts.grub;
  EXPECT_EQ(grub.mkstandalone, "grub2-mkstandalone");
  EXPECT_EQ(grub.config_dir, "/boot/grub2");
  EXPECT_EQ(grub.tools_package, "grub2");
  EXPECT_EQ(grub.modules_dir, "/usr/lib/grub/x86_64-efi");  // the deb family's
  EXPECT_EQ(grub.modules_package, "grub-efi-amd64-bin");
  EXPECT_EQ(grub.mkimage, "grub-mkimage");
  EXPECT_EQ(grub.bios_modules_dir, "/usr/lib/grub/i386-pc");
}

TEST(ProviderData, ReadsTheIsoBootImageGrubNames) {
  TempDir dir;
  write_good_provider(dir);
  dir.write("osv/t/t1/config.yml", config_with_grub("    mkimage: grub2-mkimage\n"
                                                    "    biosModulesDir: /usr/lib/grub2/i386-pc\n"));
  const GrubNames grub = load_provider(dir.path(), "t", "t1", "x86_64").facts.grub;
  EXPECT_EQ(grub.mkimage, "grub2-mkimage");
  EXPECT_EQ(grub.bios_modules_dir, "/usr/lib/grub2/i386-pc");
}

// Secure Boot of a GRUB image: Debian 12's shim and SBAT; others describe none.
TEST(ProviderData, Debian12DescribesItsShimAndGrubsSbat) {
  const TempDir apt = fake_apt();
  const GrubNames grub = load_provider(kConfigDir, "debian", "debian12", "x86_64", {.etc_apt = apt.path()}).facts.grub;
  EXPECT_EQ(grub.shim, "/usr/lib/shim/shimx64.efi");
  EXPECT_EQ(grub.shim_package, "shim-unsigned");
  EXPECT_TRUE(grub.sbat.starts_with("sbat,1,SBAT Version,sbat,1,")) << grub.sbat;
  EXPECT_NE(grub.sbat.find("\ngrub,5,"), std::string::npos) << "shim 16.1 refuses GRUB below generation 5";
  const GrubNames arm = load_provider(kConfigDir, "debian", "debian12", "aarch64", {.etc_apt = apt.path()}).facts.grub;
  EXPECT_EQ(arm.shim, "");
  EXPECT_EQ(load_provider(kConfigDir, "azure-linux", "azl3", "x86_64").facts.grub.shim, "");
}

TEST(ProviderData, ReadsAndChecksGrubSecureBoot) {
  const std::string good = "    secureBoot:\n      shim: /usr/lib/shim/shimx64.efi\n      shimPackage: shim-unsigned\n"
                           "      sbat: \"sbat,1,a\\ngrub,5,b\\n\"\n";
  {
    TempDir dir;
    write_good_provider(dir);
    dir.write("osv/t/t1/config.yml", config_with_grub(good));
    const GrubNames grub = load_provider(dir.path(), "t", "t1", "x86_64").facts.grub;
    EXPECT_EQ(grub.shim, "/usr/lib/shim/shimx64.efi");
    EXPECT_EQ(grub.shim_package, "shim-unsigned");
    EXPECT_EQ(grub.sbat, "sbat,1,a\ngrub,5,b\n");
  }
  const std::pair<std::string, const char*> cases[] = {
      {"    secureBoot:\n      shim: /usr/lib/shim/shimx64.efi\n", "'shimPackage' is required"},
      {"    secureBoot:\n      shim: shimx64.efi\n      shimPackage: s\n      sbat: \"sbat,1,\\ngrub,5\"\n",
       "grub.secureBoot.shim 'shimx64.efi' must be a normal absolute path below /usr"},
      {"    secureBoot:\n      shim: /usr/lib/shim/x.efi\n      shimPackage: a b\n      sbat: \"sbat,1,\\ngrub,5\"\n",
       "grub.secureBoot.shimPackage 'a b' must be a package name"},
      {"    secureBoot:\n      shim: /usr/lib/shim/x.efi\n      shimPackage: s\n      sbat: \"sbat,1,x\\n\"\n",
       "grub.secureBoot.sbat must be an SBAT CSV"},
      {"    secureBoot:\n      shim: /usr/lib/shim/x.efi\n      shimPackage: s\n      sbat: x\n      mok: y\n",
       "unknown key 'mok'"},
  };
  for (const auto& [lines, expected] : cases) {
    SCOPED_TRACE(lines);
    TempDir dir;
    write_good_provider(dir);
    dir.write("osv/t/t1/config.yml", config_with_grub(lines));
    const std::string message = error_of([&] { load_provider(dir.path(), "t", "t1", "x86_64"); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

TEST(ProviderData, RejectsGrubNamesNoInstallerCouldUse) {
  const std::pair<const char*, const char*> cases[] = {
      {"    mkstandalon: grub2-mkstandalone\n", "config.yml:11': unknown key 'mkstandalon'"},
      {"    mkstandalone: /usr/bin/grub2-mkstandalone\n", "config.yml:11': grub.mkstandalone '/usr/bin/grub2-mkstandalone' must be a program name"},
      {"    mkstandalone: --help\n", "grub.mkstandalone '--help' must be a program name"},
      {"    modulesDir: usr/lib/grub/x86_64-efi\n", "grub.modulesDir 'usr/lib/grub/x86_64-efi' must be a normal absolute path"},
      {"    modulesDir: /usr/lib/grub/../x86_64-efi\n", "must be a normal absolute path"},
      {"    configDir: /etc/grub2\n", "config.yml:11': grub.configDir '/etc/grub2' must be a normal path below /boot"},
      {"    configDir: /boot\n", "grub.configDir '/boot' must be a normal path below /boot"},
      {"    toolsPackage: \"grub2 grub2-efi\"\n", "grub.toolsPackage 'grub2 grub2-efi' must be a package name"},
      {"    modulesPackage: \"\"\n", "'modulesPackage' is required"},
      {"    mkimage: /usr/bin/grub-mkimage\n", "config.yml:11': grub.mkimage '/usr/bin/grub-mkimage' must be a program name"},
      {"    mkimage: -o\n", "grub.mkimage '-o' must be a program name"},
      {"    biosModulesDir: lib/grub/i386-pc\n", "grub.biosModulesDir 'lib/grub/i386-pc' must be a normal absolute path below /usr"},
      {"    biosModulesDir: /etc/../usr/lib/grub/i386-pc\n", "grub.biosModulesDir '/etc/../usr/lib/grub/i386-pc' must be"},
      {"    biosModulesDir: /tmp/i386-pc\n", "grub.biosModulesDir '/tmp/i386-pc' must be a normal absolute path below /usr"},
  };
  for (const auto& [lines, expected] : cases) {
    SCOPED_TRACE(lines);
    TempDir dir;
    write_good_provider(dir);
    dir.write("osv/t/t1/config.yml", config_with_grub(lines));
    const std::string message = error_of([&] { load_provider(dir.path(), "t", "t1", "x86_64"); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
  TempDir dir;
  write_good_provider(dir);
  dir.write("osv/t/t1/config.yml", config_with_fact("sudoGroup", "sudoGroup: wheel\n  grub: grub2"));
  EXPECT_NE(error_of([&] { load_provider(dir.path(), "t", "t1", "x86_64"); }).find("config.yml:10': expected a mapping"),
            std::string::npos);
}

TEST(ProviderData, RejectsDistributionFactsNoStageActsOn) {
  struct Case {
    const char* key;
    const char* line;
    const char* expected;
  };
  const Case cases[] = {
      {"initramfsTool", "initramfsTool: mkinitcpio",
       "config.yml:7': initramfsTool must be initramfs-tools or dracut, not 'mkinitcpio'"},
      {"purlType", "purlType: apk", "config.yml:8': purlType must be deb or rpm, not 'apk'"},
      {"sudoGroup", "sudoGroup: Admins", "config.yml:9': sudoGroup 'Admins' is not a group name"},
      {"sudoGroup", "sudoGroup: \"sudo,adm\"", "sudoGroup 'sudo,adm' is not a group name"},
      {"initrdFileName", "initrdFileName: initrd.img", "initrdFileName 'initrd.img' must be a file name holding {kver}"},
      {"initrdFileName", "initrdFileName: ../initrd-{kver}", "initrdFileName '../initrd-{kver}' must be a file name"},
      {"initrdFileName", "initrdFileName: i-{kver}-{kver}", "initrdFileName 'i-{kver}-{kver}' must be a file name"},
      {"sudoGroup", "rpmDbPath: /var/lib/rpm", "config.yml:9': 'rpmDbPath' applies to pkgType rpm only"},
      {"sudoGroup", "deferredPackages: [initramfs]", "'deferredPackages' applies to pkgType rpm only"},
      {"sudoGroup", "initrdCompression: lz4", "config.yml:9': initrdCompression must be gzip or zstd or xz or none, not 'lz4'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    TempDir dir;
    write_good_provider(dir);
    dir.write("osv/t/t1/config.yml", config_with_fact(c.key, c.line));
    const std::string message = error_of([&] { load_provider(dir.path(), "t", "t1", "x86_64"); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << message;
  }
}

TEST(ProviderData, KeyFilesStayInsideTheOsDirectoryAndExist) {
  for (const auto& [line, expected] : {std::pair{"keyFiles: [../../k.asc]", "must stay inside the OS directory"},
                                       std::pair{"keyFiles: [/etc/k.asc]", "must stay inside the OS directory"},
                                       std::pair{"keyFiles: [keys/none.asc]", "keys/none.asc' does not exist"}}) {
    SCOPED_TRACE(line);
    TempDir dir;
    write_good_provider(dir);
    std::string config = config_with_fact("sudoGroup", "");
    config.replace(config.find("pkgType: deb"), 12, "pkgType: rpm");
    dir.write("osv/t/t1/config.yml", config);
    dir.write("osv/t/t1/providerconfigs/x86_64_repo.yml",
              std::string("repositories:\n  - name: r\n    type: rpm\n    baseURL: https://r.example.invalid/r\n    ") +
                  line + "\n");
    const std::string message = error_of([&] { load_provider(dir.path(), "t", "t1", "x86_64"); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

TEST(ProviderData, RejectsNamesThatWouldLeaveTheConfigDirectory) {
  for (const char* os : {"..", "a/b", "", ".hidden"}) {
    SCOPED_TRACE(os);
    const std::string message = error_of([&] { load_provider(kConfigDir, os, "d", "x86_64"); });
    EXPECT_NE(message.find("is not a plain name"), std::string::npos) << message;
  }
  EXPECT_NE(error_of([&] { load_provider(kConfigDir, "debian", "debian11", "x86_64"); }).find("no directory"),
            std::string::npos);
}

TEST(DebianArch, MapsTemplateArchitectures) {
  EXPECT_EQ(debian_arch("x86_64"), "amd64");
  EXPECT_EQ(debian_arch("aarch64"), "arm64");
  EXPECT_EQ(debian_arch("armv7hl"), "armhf");
  EXPECT_NE(error_of([] { debian_arch("riscv64"); }).find("'riscv64'"), std::string::npos);
}

// Every data file is well-formed YAML, and every additional file a default
// template names inside its OS directory exists.
TEST(ShippedData, EveryYamlFileParsesAndLocalAdditionalFilesExist) {
  int count = 0;
  for (const fs::path& root : {kConfigDir / "osv", kSourceRoot / "image-templates"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.path().extension() != ".yml") continue;
      SCOPED_TRACE(entry.path().string());
      ++count;
      YAML::Node doc;
      ASSERT_NO_THROW(doc = YAML::LoadFile(entry.path().string()));
      const YAML::Node files = doc["systemConfig"]["additionalFiles"];
      for (const auto& f : files) {
        const fs::path local = (entry.path().parent_path() / f["local"].as<std::string>()).lexically_normal();
        const auto rel = local.lexically_relative(kConfigDir / "osv");
        if (rel.empty() || rel.begin()->string() == "..") continue;  // shared files outside osv/
        EXPECT_TRUE(fs::is_regular_file(local)) << local;
      }
    }
  }
  EXPECT_GE(count, 40);
}

// Each sample template validates, merges over its OS default, and the merge
// validates: the defaults and samples agree with the template schema.
TEST(ShippedTemplates, EveryImageTemplateLoadsMergedWithItsDefault) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(kSourceRoot / "image-templates")) {
    if (entry.path().extension() != ".yml") continue;
    SCOPED_TRACE(entry.path().filename().string());
    ++count;
    try {
      const auto loaded = load_merged_template(entry.path(), {.config_dir = kConfigDir});
      EXPECT_FALSE(loaded.default_path.empty()) << "no OS default found";
    } catch (const base::Error& e) {
      ADD_FAILURE() << e.what();
    }
  }
  EXPECT_GE(count, 15);
}


// Debian 13: the trixie suites come from the apt sources, each pinned to the
// trixie key that signs it (the archive key, or the security archive key).
TEST(ProviderData, Debian13TakesTrixieFromTheAptSourcesPinnedToTheTrixieKeys) {
  TempDir apt;
  apt.write("sources.list.d/debian.sources",
            "Types: deb\nURIs: http://deb.example.invalid/debian\nSuites: trixie trixie-updates\n"
            "Components: main\n\n"
            "Types: deb\nURIs: http://security.example.invalid/debian-security\nSuites: trixie-security\n"
            "Components: main\n");
  const std::string archive_key = "04B54C3CDCA79751B16BC6B5225629DF75B188BD";
  const std::string security_key = "5E04A1E3223A19A20706E20F9904613D4CCE68C6";
  for (const auto& [arch, deb_arch] : {std::pair{"x86_64", "amd64"}, std::pair{"aarch64", "arm64"}}) {
    SCOPED_TRACE(arch);
    const auto p = load_provider(kConfigDir, "debian", "debian13", arch, {.etc_apt = apt.path()});
    EXPECT_EQ(p.id, std::string("debian-debian13-") + arch);
    EXPECT_EQ(p.package_type, PackageType::kDeb);
    EXPECT_EQ(p.package_arch, deb_arch);
    EXPECT_EQ(p.release_version, "13.0");
    ASSERT_EQ(p.repositories.size(), 3u);
    const Strings suites{"trixie", "trixie-updates", "trixie-security"};
    for (size_t i = 0; i < suites.size(); ++i) {
      const auto& repo = p.repositories[i];
      SCOPED_TRACE(repo.name);
      EXPECT_EQ(repo.suite, suites[i]);
      EXPECT_TRUE(repo.from_host_apt);
      EXPECT_TRUE(repo.gpg_check);
      EXPECT_TRUE(repo.repo_gpg_check);
      ASSERT_EQ(repo.keys.size(), 1u);
      EXPECT_EQ(repo.keys[0].location, "/usr/share/keyrings/debian-archive-keyring.gpg");
      EXPECT_EQ(repo.keys[0].fingerprints, (Strings{i == 2 ? security_key : archive_key}));
    }
    EXPECT_EQ(p.repositories[0].base_url, "http://deb.example.invalid/debian");
    EXPECT_EQ(p.repositories[2].base_url, "http://security.example.invalid/debian-security");
    EXPECT_EQ(p.repositories[0].release_file, "http://deb.example.invalid/debian/dists/trixie/Release");
  }
}

// A bookworm host lists no trixie source: the trixie suites come from the
// bookworm sources of the same archives (sameArchiveAs), still pinned to the
// trixie keys.
TEST(ProviderData, Debian13OnABookwormHostTakesTheSameArchivesUris) {
  TempDir apt;
  apt.write("sources.list",
            "deb http://deb.example.invalid/debian bookworm main\n"
            "deb http://deb.example.invalid/debian bookworm-updates main\n"
            "deb http://security.example.invalid/debian-security bookworm-security main\n");
  const auto p = load_provider(kConfigDir, "debian", "debian13", "x86_64", {.etc_apt = apt.path()});
  std::map<std::string, std::string> url_of;
  for (const auto& repo : p.repositories) url_of[repo.suite] = repo.base_url;
  EXPECT_EQ(url_of["trixie"], "http://deb.example.invalid/debian");
  EXPECT_EQ(url_of["trixie-updates"], "http://deb.example.invalid/debian");
  EXPECT_EQ(url_of["trixie-security"], "http://security.example.invalid/debian-security");
  for (const auto& repo : p.repositories) {
    ASSERT_FALSE(repo.keys.empty()) << repo.name;
    EXPECT_FALSE(repo.keys.front().fingerprints.empty()) << repo.name << " is not pinned";
  }
}

TEST(ProviderData, Debian13WithoutADebianSourceNamesBothSuites) {
  TempDir apt;
  apt.write("sources.list", "deb http://other.example.invalid/repo stable main\n");
  const std::string message =
      error_of([&] { load_provider(kConfigDir, "debian", "debian13", "x86_64", {.etc_apt = apt.path()}); });
  EXPECT_NE(message.find("suite 'trixie' or 'bookworm' component 'main'"), std::string::npos) << message;
  EXPECT_NE(message.find("debian13/providerconfigs/amd64_repo.yml:"), std::string::npos) << message;
}

TEST(ProviderData, SameArchiveAsIsForHostAptEntriesOnly) {
  TempDir dir;
  write_reference_provider(dir, "  - name: aria\n    type: deb\n    baseURL: http://deb.example.invalid/elxr\n"
                                "    sameArchiveAs: bookworm\n    gpgCheck: false\n    repoGPGCheck: false\n");
  Strings warnings;
  const std::string message = error_of([&] { load_reference_provider(dir, warnings); });
  EXPECT_NE(message.find("'sameArchiveAs' applies to host-apt repositories"), std::string::npos) << message;
}

// The pins name keys that the host's Debian keyring really holds, as the
// trixie archive keys (a mistyped pin would refuse every build).
TEST(ProviderData, Debian13PinsAreTrixieKeysOfTheHostKeyring) {
  const fs::path keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
  if (!fs::exists(keyring)) GTEST_SKIP() << "no " << keyring;
  const TempDir home;  // gpg needs a home; the user's is never read
  const std::string command = "gpg --batch --no-autostart --homedir " + home.path().string() +
                              " --show-keys --with-colons " + keyring.string() + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string listing;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) listing.append(buffer, n);
  if (pclose(pipe) != 0 && listing.empty()) GTEST_SKIP() << "gpg cannot list " << keyring;
  const TempDir apt = fake_apt();
  const auto p = load_provider(kConfigDir, "debian", "debian13", "x86_64", {.etc_apt = apt.path()});
  ASSERT_FALSE(p.repositories.empty());
  for (const auto& repo : p.repositories) {
    for (const auto& key : repo.keys) {
      for (const auto& pin : key.fingerprints) {
        SCOPED_TRACE(repo.name + " " + pin);
        const auto at = listing.find("fpr:::::::::" + pin + ":");
        ASSERT_NE(at, std::string::npos);
        // The uid that follows the primary key's fingerprint names trixie.
        const auto uid = listing.find("\nuid:", at);
        ASSERT_NE(uid, std::string::npos);
        const std::string uid_line = listing.substr(uid, listing.find('\n', uid + 1) - uid);
        EXPECT_NE(uid_line.find("(13/trixie)"), std::string::npos) << uid_line;
      }
    }
  }
}


// Ubuntu: the suites come from the apt sources (an Ubuntu host's, or a
// template's packageRepositories), all four components, checked against the
// shipped Ubuntu Archive Automatic Signing Key (2018), pinned.
TEST(ProviderData, UbuntuTakesItsSuitesFromTheAptSourcesWithTheShippedPinnedKey) {
  TempDir apt;
  apt.write("sources.list",
            "deb http://ubuntu.example.invalid/ubuntu noble main restricted universe multiverse\n"
            "deb http://ubuntu.example.invalid/ubuntu noble-updates main restricted universe multiverse\n"
            "deb http://ubuntu.example.invalid/ubuntu noble-security main restricted universe multiverse\n"
            "deb http://ubuntu.example.invalid/ubuntu resolute main restricted universe multiverse\n");
  const Strings components{"main", "restricted", "universe", "multiverse"};
  for (const auto& [dist, release, suite, optional] :
       {std::tuple{"ubuntu24", "24.04", "noble", 2u}, std::tuple{"ubuntu26", "26.04", "resolute", 0u}}) {
    for (const auto& [arch, deb_arch] : {std::pair{"x86_64", "amd64"}, std::pair{"aarch64", "arm64"}}) {
      SCOPED_TRACE(std::string(dist) + " " + arch);
      const auto p = load_provider(kConfigDir, "ubuntu", dist, arch, {.etc_apt = apt.path()});
      EXPECT_EQ(p.id, std::string("ubuntu-") + dist + "-" + arch);
      EXPECT_EQ(p.package_arch, deb_arch);
      EXPECT_EQ(p.release_version, release);
      // The -updates and -security suites are used when apt serves them.
      ASSERT_EQ(p.repositories.size(), 1u + optional);
      EXPECT_EQ(p.repositories[0].suite, suite);
      for (const auto& repo : p.repositories) {
        SCOPED_TRACE(repo.name);
        EXPECT_TRUE(repo.from_host_apt);
        EXPECT_EQ(repo.base_url, "http://ubuntu.example.invalid/ubuntu");
        EXPECT_EQ(repo.components, components);
        EXPECT_TRUE(repo.gpg_check && repo.repo_gpg_check);
        ASSERT_EQ(repo.keys.size(), 1u);
        EXPECT_EQ(repo.keys[0].location, (p.os_dir / "keys/ubuntu-archive-2018.asc").string());
        EXPECT_EQ(repo.keys[0].fingerprints, (Strings{"F6ECB3762474EDA9D21B7022871920D1991BC93C"}));
      }
    }
  }
}

TEST(ProviderData, UbuntuWithoutItsSuiteSaysToAddItOrGiveRepositories) {
  TempDir debian_only;
  debian_only.write("sources.list", "deb http://deb.example.invalid/debian trixie main\n");
  const std::string message =
      error_of([&] { load_provider(kConfigDir, "ubuntu", "ubuntu24", "x86_64", {.etc_apt = debian_only.path()}); });
  EXPECT_NE(message.find("suite 'noble' component 'main'"), std::string::npos) << message;
  EXPECT_NE(message.find("ubuntu24/providerconfigs/amd64_repo.yml:"), std::string::npos) << message;
  EXPECT_NE(message.find("packageRepositories"), std::string::npos) << message;
}

// The shipped key file holds exactly the pinned key, under Ubuntu's archive
// signing uid.
TEST(ProviderData, UbuntuShippedKeyIsTheUbuntuArchiveSigningKey2018) {
  for (const char* dist : {"ubuntu24", "ubuntu26"}) {
    SCOPED_TRACE(dist);
    const fs::path key = kConfigDir / "osv/ubuntu" / dist / "keys/ubuntu-archive-2018.asc";
    const TempDir home;  // gpg needs a home; the user's is never read
    const std::string command = "gpg --batch --no-autostart --homedir " + home.path().string() +
                                " --show-keys --with-colons " + key.string() + " 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string listing;
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) listing.append(buffer, n);
    ASSERT_EQ(pclose(pipe), 0) << command;
    std::vector<std::string> fingerprints;
    for (size_t at = listing.find("\nfpr:"); at != std::string::npos; at = listing.find("\nfpr:", at + 1)) {
      fingerprints.push_back(listing.substr(at + 13, 40));
    }
    EXPECT_EQ(fingerprints, (Strings{"F6ECB3762474EDA9D21B7022871920D1991BC93C"}));
    EXPECT_NE(listing.find("Ubuntu Archive Automatic Signing Key (2018) <ftpmaster@ubuntu.com>"), std::string::npos);
  }
}

// CentOS Stream 10 (el10): BaseOS and AppStream for each architecture, both
// checked by package header signatures of the one shipped, pinned CentOS key
// (CentOS Stream publishes no repomd.xml.asc), and EL10's own rpmdb path.
TEST(ProviderData, El10HasBaseOsAndAppStreamPinnedToTheCentOsKeyForBothArches) {
  const std::string fingerprint = "99DB70FAE1D7CE227FB6488205B555B38483C65D";
  for (const auto& [arch, modules_dir, modules_package, bios_dir] :
       {std::tuple{"x86_64", "/usr/lib/grub/x86_64-efi", "grub2-efi-x64-modules", "/usr/lib/grub/i386-pc"},
        std::tuple{"aarch64", "/usr/lib/grub/arm64-efi", "grub2-efi-aa64-modules", ""}}) {
    SCOPED_TRACE(arch);
    std::vector<std::string> warnings;
    const auto p = load_provider(kConfigDir, "redhat-compatible-distro", "el10", arch,
                                 {.warn = [&](const std::string& w) { warnings.push_back(w); }});
    EXPECT_EQ(warnings, Strings{});  // dist says el10, the directory's name
    EXPECT_EQ(p.id, std::string("redhat-compatible-distro-el10-") + arch);
    EXPECT_EQ(p.package_type, PackageType::kRpm);
    EXPECT_EQ(p.package_arch, arch);
    EXPECT_EQ(p.release_version, "10.0");
    ASSERT_EQ(p.repositories.size(), 2u);
    const std::pair<const char*, const char*> expected[] = {{"CentOS-Stream-10-BaseOS", "BaseOS"},
                                                            {"CentOS-Stream-10-AppStream", "AppStream"}};
    for (size_t i = 0; i < 2; ++i) {
      const auto& repo = p.repositories[i];
      SCOPED_TRACE(repo.name);
      EXPECT_EQ(repo.name, expected[i].first);
      EXPECT_EQ(repo.base_url,
                std::string("https://mirror.stream.centos.org/10-stream/") + expected[i].second + "/" + arch + "/os");
      EXPECT_EQ(repo.release_file, repo.base_url + "/repodata/repomd.xml");
      EXPECT_TRUE(repo.gpg_check);
      EXPECT_FALSE(repo.repo_gpg_check);
      EXPECT_TRUE(repo.release_sign.empty()) << repo.release_sign;
      EXPECT_EQ(repo.architectures, (Strings{arch, "noarch"}));
      EXPECT_TRUE(repo.enabled);
      ASSERT_EQ(repo.keys.size(), 1u);
      EXPECT_EQ(repo.keys[0].location, (p.os_dir / "keys/RPM-GPG-KEY-CentOS-Official-SHA256").string());
      EXPECT_EQ(repo.keys[0].fingerprints, (Strings{fingerprint}));
    }
    EXPECT_EQ(p.chroot_env.packages, (Strings{"createrepo_c", "centos-gpg-keys", "centos-stream-release", "bash",
                                              "coreutils-single", "glibc-minimal-langpack", "dnf", "rpm",
                                              "findutils"}));
    const DistributionFacts& facts = p.facts;
    EXPECT_EQ(facts.initramfs_tool, "dracut");
    EXPECT_EQ(facts.purl_type, "rpm");
    EXPECT_EQ(facts.sudo_group, "wheel");
    EXPECT_EQ(facts.initrd_file_name, "initramfs-{kver}.img");
    EXPECT_EQ(facts.rpm_db_path, "/usr/lib/sysimage/rpm");
    EXPECT_EQ(facts.deferred_packages, Strings{});
    EXPECT_EQ(facts.grub.mkstandalone, "grub2-mkstandalone");
    EXPECT_EQ(facts.grub.modules_dir, modules_dir);
    EXPECT_EQ(facts.grub.config_dir, "/boot/grub2");
    EXPECT_EQ(facts.grub.tools_package, "grub2-tools-extra");
    EXPECT_EQ(facts.grub.modules_package, modules_package);
    EXPECT_EQ(facts.grub.mkimage, "grub2-mkimage");
    EXPECT_EQ(facts.grub.bios_modules_dir, bios_dir);
  }
}

// The shipped key file holds exactly the pinned key, the CentOS Official
// Signing Key, with SHA-256 self-signatures only (EL10's rpm refuses SHA-1).
TEST(ProviderData, El10ShippedKeyIsTheCentOsOfficialSigningKeySignedWithSha256) {
  const fs::path key = kConfigDir / "osv/redhat-compatible-distro/el10/keys/RPM-GPG-KEY-CentOS-Official-SHA256";
  const TempDir home;  // gpg needs a home; the user's is never read
  const std::string command = "gpg --batch --no-autostart --homedir " + home.path().string() +
                              " --show-keys --with-colons --with-sig-list " + key.string() + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string listing;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) listing.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << command;
  std::vector<std::string> fingerprints;
  std::vector<std::string> signature_hashes;  // field 16 of each sig line: 8 is SHA-256
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields;
    std::istringstream split(line);
    for (std::string f; std::getline(split, f, ':');) fields.push_back(f);
    if (fields.size() > 9 && fields[0] == "fpr") fingerprints.push_back(fields[9]);
    if (fields.size() > 15 && fields[0] == "sig") signature_hashes.push_back(fields[15]);
  }
  EXPECT_EQ(fingerprints, (Strings{"99DB70FAE1D7CE227FB6488205B555B38483C65D"}));
  EXPECT_NE(listing.find("CentOS (CentOS Official Signing Key) <security@centos.org>"), std::string::npos) << listing;
  ASSERT_FALSE(signature_hashes.empty()) << listing;
  for (const auto& hash : signature_hashes) EXPECT_EQ(hash, "8") << listing;
}

}  // namespace
}  // namespace config
