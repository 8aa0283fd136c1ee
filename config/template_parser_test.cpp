#include "config/template_parser.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "build_info.hpp"
#include "config/validate.hpp"
#include "base/error.hpp"

namespace config {
namespace {

constexpr const char* kMinimal = R"(image:
  name: demo
  version: "1.0.0"
target:
  os: debian
  dist: debian12
  arch: x86_64
  imageType: raw
)";

// The error text of parsing `yaml`, or "" when it parses.
std::string parse_error(const std::string& yaml) {
  try {
    parse_template_text(yaml, "t.yml");
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    return e.message();
  }
  return {};
}

TEST(TemplateParser, ReadsEveryKeyOfASection) {
  const ImageTemplate t = parse_template_text(std::string(kMinimal) + R"(systemConfig:
  name: demo
  packages: [vim, "openssh-server"]
  kernel: {version: "6.1", packages: [linux-image-amd64], uki: true}
  bootloader: {bootType: efi, provider: grub}
  users:
    - {name: admin, password: secret, hash_algo: sha256, sudo: true, groups: [adm]}
  additionalFiles:
    - {local: files/motd, final: /etc/motd}
  configurations:
    - cmd: "echo hi"
)", "dir/t.yml");
  ASSERT_TRUE(t.system_config);
  EXPECT_EQ(t.system_config->packages, (std::vector<std::string>{"vim", "openssh-server"}));
  EXPECT_EQ(t.system_config->kernel->uki, true);
  EXPECT_EQ(t.system_config->bootloader->provider, "grub");
  EXPECT_EQ(t.system_config->users.at(0).hash_algo, "sha256");
  EXPECT_EQ(t.system_config->users.at(0).sudo, true);
  EXPECT_EQ(t.system_config->additional_files.at(0).declared_in, "dir/t.yml");
  EXPECT_EQ(t.system_config->configurations.at(0).cmd, "echo hi");
  EXPECT_FALSE(t.disk);
}

TEST(TemplateParser, RecordsWhereEachKeyWasWritten) {
  const ImageTemplate t = parse_template_text(kMinimal, "t.yml");
  const Mark m = t.marks.at("target.arch");
  EXPECT_EQ(m.file, "t.yml");
  EXPECT_EQ(m.line, 7);
  EXPECT_EQ(m.column, 9);
}

TEST(TemplateParser, SuggestsTheNearestKeyForAnUnknownOne) {
  const std::string e = parse_error(std::string(kMinimal) + "disk:\n  name: d\n  partitons: []\n");
  EXPECT_NE(e.find("t.yml:11:3: disk.partitons: \"partitons\": unknown key; did you mean \"partitions\"?"),
            std::string::npos) << e;
}

TEST(TemplateParser, ListsAllowedValuesOfAnEnum) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("x86_64"), 6, "sparc");
  const std::string e = parse_error(yaml);
  EXPECT_NE(e.find("t.yml:7:9: target.arch: \"sparc\" is not allowed; expected one of: x86_64, aarch64, armv7hl"),
            std::string::npos) << e;
}

TEST(TemplateParser, CollectsEveryProblemInOneError) {
  const std::string e = parse_error(R"(image: {name: "-bad", version: "x"}
target: {os: plan9, dist: d, arch: x86_64, imageType: raw}
)");
  EXPECT_NE(e.find("3 problems"), std::string::npos) << e;
  EXPECT_NE(e.find("image.name"), std::string::npos) << e;
  EXPECT_NE(e.find("image.version"), std::string::npos) << e;
  EXPECT_NE(e.find("target.os"), std::string::npos) << e;
}

TEST(TemplateParser, RejectsWrongTypes) {
  const std::string e = parse_error(std::string(kMinimal) + "systemConfig:\n  packages: vim\n  kernel: {uki: maybe}\n");
  EXPECT_NE(e.find("systemConfig.packages: expected a list of strings, got a scalar"), std::string::npos) << e;
  EXPECT_NE(e.find("systemConfig.kernel.uki: expected true or false, got \"maybe\""), std::string::npos) << e;
}

TEST(TemplateParser, RejectsAPriorityOutOfRange) {
  const std::string e = parse_error(std::string(kMinimal) +
      "packageRepositories:\n  - {codename: c, url: \"http://x/\", pkey: \"[trusted=yes]\", priority: 10000}\n");
  EXPECT_NE(e.find("packageRepositories[0].priority: expected an integer in -9999..9999"), std::string::npos) << e;
}

// A repository key fetched over the network is pinned by fingerprint here
// when it is known (otherwise it is trusted on first use).
TEST(TemplateParser, ReadsRepositoryKeyFingerprints) {
  const std::string repo = "packageRepositories:\n  - {codename: c, url: \"https://127.0.0.1/r\", "
                           "pkey: \"https://127.0.0.1/r/key.gpg\", keyFingerprints: [";
  const ImageTemplate t = parse_template_text(std::string(kMinimal) + repo + std::string(40, 'a') + "]}\n", "t.yml");
  ASSERT_EQ(t.package_repositories.size(), 1u);
  EXPECT_EQ(t.package_repositories[0].key_fingerprints, std::vector<std::string>{std::string(40, 'A')});
  const std::string e = parse_error(std::string(kMinimal) + repo + "ABCD]}\n");
  EXPECT_NE(e.find("packageRepositories[0].keyFingerprints[0]: \"ABCD\" is not a key fingerprint"), std::string::npos)
      << e;
}

TEST(TemplateParser, RejectsControlCharactersAndOverlongStrings) {
  std::string yaml = std::string(kMinimal) + "metadata: {description: \"a\\x01b\"}\n";
  EXPECT_NE(parse_error(yaml).find("metadata.description: value contains the control character 0x01"),
            std::string::npos);
  yaml = std::string(kMinimal) + "metadata: {description: \"" + std::string(4097, 'a') + "\"}\n";
  EXPECT_NE(parse_error(yaml).find("4097 characters long; at most 4096"), std::string::npos);
}

TEST(TemplateParser, ReportsInvalidYamlWithItsPosition) {
  const std::string e = parse_error("image: [unclosed\n");
  EXPECT_NE(e.find("t.yml:2:1: invalid YAML"), std::string::npos) << e;
}

TEST(TemplateParser, RejectsFilesThatAreNotYaml) {
  EXPECT_THROW(parse_template_file("/tmp/template.json"), base::Error);
}

TEST(TemplateParser, RejectsSymlinkedTemplates) {
  const auto dir = std::filesystem::temp_directory_path() / ("oic-parser-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "real.yml") << kMinimal;
  std::filesystem::remove(dir / "link.yml");
  std::filesystem::create_symlink(dir / "real.yml", dir / "link.yml");
  EXPECT_NO_THROW(parse_template_file(dir / "real.yml"));
  try {
    parse_template_file(dir / "link.yml");
    ADD_FAILURE() << "symlink accepted";
  } catch (const base::Error& e) {
    EXPECT_NE(std::string(e.what()).find("symlink"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

// Templates written for the reference tool must be read unchanged.
TEST(TemplateParser, AcceptsTheReferenceToolsTemplatesUnchanged) {
  const auto dir = std::filesystem::path(OIC_SOURCE_ROOT) / "tests" / "data" / "templates";
  const ImageTemplate user = parse_template_file(dir / "reference-elxr12-minimal-raw.yml");
  EXPECT_EQ(user.target->os, "wind-river-elxr");
  EXPECT_EQ(user.disk->artifacts.at(1).type, "vhdx");
  EXPECT_EQ(user.disk->partitions.at(1).end, "0");
  EXPECT_EQ(user.system_config->kernel->packages.at(0), "linux-image-6.12-intel");
  EXPECT_TRUE(check_partitions(user).empty());
  const ImageTemplate defaults = parse_template_file(dir / "reference-elxr12-default-raw.yml");
  EXPECT_EQ(defaults.disk->partitions.size(), 4U);
  EXPECT_EQ(defaults.system_config->additional_files.at(1).local, "../additionalfiles/elxr-aria.list");
  EXPECT_TRUE(check_partitions(defaults).empty());
}

}  // namespace
}  // namespace config
