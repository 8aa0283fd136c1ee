#include "config/merge.hpp"

#include <gtest/gtest.h>

#include "build_info.hpp"
#include "config/template_parser.hpp"
#include "config/validate.hpp"

namespace config {
namespace {

constexpr const char* kDefault = R"(image: {name: default, version: "12.0.0"}
target: {os: debian, dist: debian12, arch: x86_64, imageType: raw}
disk:
  name: Default_Raw
  size: 4GiB
  artifacts: [{type: raw, compression: gz}]
  partitions:
    - {id: boot, type: esp, start: 1MiB, end: 513MiB, mountPoint: /boot/efi}
    - {id: rootfs, type: linux, start: 513MiB, end: 2GiB, mountPoint: /}
    - {id: roothashmap, type: linux, start: 2GiB, end: "0", mountPoint: none}
packageRepositories:
  - {codename: main, url: "http://d/main", pkey: "[trusted=yes]"}
  - {codename: extra, url: "http://d/extra", pkey: "[trusted=yes]"}
systemConfig:
  name: Default_Raw
  description: from the default
  hostname: default-host
  packages: [a, b]
  kernel: {name: kernel, version: "6.1", cmdline: quiet, packages: [linux-image-amd64], uki: true}
  bootloader: {bootType: efi, provider: systemd-boot}
  immutability: {enabled: true}
  users:
    - {name: root, password: "$6$salt$hash", groups: [root]}
    - {name: svc, password: pw, hash_algo: sha256, sudo: true, groups: [a]}
  additionalFiles:
    - {local: f1, final: /etc/one}
    - {local: f2, final: /etc/two}
  configurations: [{cmd: d1}]
)";

constexpr const char* kUserHead = R"(image: {name: mine, version: "1.0.0"}
target: {os: debian, dist: debian12, arch: x86_64, imageType: raw}
)";

MergeResult merge_with(const std::string& user_extra) {
  return merge_templates(parse_template_text(kDefault, "default.yml"),
                         parse_template_text(std::string(kUserHead) + user_extra, "user.yml"));
}

std::vector<std::string> names(const std::vector<User>& users) {
  std::vector<std::string> out;
  for (const User& u : users) out.push_back(u.name);
  return out;
}

TEST(Merge, UserImageNameAndVersionWin) {
  const MergeResult r = merge_with("");
  EXPECT_EQ(r.merged.image->name, "mine");
  EXPECT_EQ(r.merged.image->version, "1.0.0");
}

TEST(Merge, UserTargetReplacesTheDefaultsTarget) {
  const MergeResult r = merge_templates(parse_template_text(kDefault, "d.yml"),
      parse_template_text("image: {name: m, version: \"1\"}\ntarget: {os: debian, dist: debian12, arch: aarch64, imageType: raw}\n", "u.yml"));
  EXPECT_EQ(r.merged.target->arch, "aarch64");
}

TEST(Merge, DiskIsReplacedWholesaleWhenTheUserDefinesOne) {
  const MergeResult r = merge_with("disk: {name: Mine, size: 8GiB, partitions: [{id: root, start: 1MiB, end: \"0\"}]}\n");
  EXPECT_EQ(r.merged.disk->name, "Mine");
  EXPECT_EQ(r.merged.disk->partitions.size(), 1U);
  EXPECT_TRUE(r.merged.disk->artifacts.empty());  // nothing of the default's disk survives
}

TEST(Merge, UserArtifactsAloneKeepTheDefaultDiskAndWarn) {
  const MergeResult r = merge_with("disk: {name: \"\", artifacts: [{type: vhdx}]}\n");
  EXPECT_EQ(r.merged.disk->name, "Default_Raw");
  EXPECT_EQ(r.merged.disk->artifacts.at(0).type, "raw");
  ASSERT_EQ(r.warnings.size(), 1U);
  EXPECT_NE(r.warnings[0].find("disk.artifacts"), std::string::npos);
}

TEST(Merge, RepositoriesMergeByCodename) {
  const MergeResult r = merge_with(
      "packageRepositories:\n"
      "  - {codename: new, url: \"http://u/new\", pkey: \"[trusted=yes]\"}\n"
      "  - {codename: main, url: \"http://u/main\", pkey: \"[trusted=yes]\"}\n");
  const auto& repos = r.merged.package_repositories;
  ASSERT_EQ(repos.size(), 3U);
  EXPECT_EQ(repos[0].url, "http://u/main");  // replaced in place
  EXPECT_EQ(repos[1].codename, "extra");
  EXPECT_EQ(repos[2].codename, "new");
}

TEST(Merge, SystemConfigMergesEvenWithoutAName) {  // fix: the reference skips this merge
  const MergeResult r = merge_with("systemConfig: {packages: [c]}\n");
  EXPECT_EQ(r.merged.system_config->name, "Default_Raw");
  EXPECT_EQ(r.merged.system_config->packages, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Merge, NonEmptyScalarsOfSystemConfigOverride) {
  const MergeResult r = merge_with("systemConfig: {name: Mine, hostname: mine, description: \"\"}\n");
  EXPECT_EQ(r.merged.system_config->name, "Mine");
  EXPECT_EQ(r.merged.system_config->hostname, "mine");
  EXPECT_EQ(r.merged.system_config->description, "from the default");  // empty does not override
}

TEST(Merge, PackagesAreTheUnionDefaultOrderFirst) {
  const MergeResult r = merge_with("systemConfig: {packages: [z, a, y]}\n");
  EXPECT_EQ(r.merged.system_config->packages, (std::vector<std::string>{"a", "b", "z", "y"}));
}

TEST(Merge, KernelFieldsOverrideAndPackagesAreReplaced) {
  const MergeResult r = merge_with("systemConfig: {kernel: {name: other, cmdline: loud, uki: false, packages: [k2]}}\n");
  const Kernel& k = *r.merged.system_config->kernel;
  EXPECT_EQ(k.cmdline, "loud");
  EXPECT_EQ(k.version, "6.1");
  EXPECT_EQ(k.packages, (std::vector<std::string>{"k2"}));
  EXPECT_EQ(k.name, "kernel");  // the name comes from the default, with a warning
  EXPECT_EQ(k.uki, false);      // unlike the reference, the template's uki is not dropped
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("systemConfig.kernel.name 'other' is not used"), std::string::npos) << r.warnings[0];
}

TEST(Merge, EmptyKernelPackagesKeepTheDefaults) {
  const MergeResult r = merge_with("systemConfig: {kernel: {cmdline: loud}}\n");
  EXPECT_EQ(r.merged.system_config->kernel->packages, (std::vector<std::string>{"linux-image-amd64"}));
}

TEST(Merge, BootloaderFieldsOverrideOneByOne) {
  const MergeResult r = merge_with("systemConfig: {bootloader: {provider: grub}}\n");
  EXPECT_EQ(r.merged.system_config->bootloader->boot_type, "efi");
  EXPECT_EQ(r.merged.system_config->bootloader->provider, "grub");
}

TEST(Merge, UsersMergeByNameDefaultOrderThenNewOnesInUserOrder) {  // fix: the reference order was random
  const MergeResult r = merge_with("systemConfig:\n  users: [{name: zed}, {name: svc, groups: [b]}, {name: amy}]\n");
  EXPECT_EQ(names(r.merged.system_config->users), (std::vector<std::string>{"root", "svc", "zed", "amy"}));
  const User& svc = r.merged.system_config->users[1];
  EXPECT_EQ(svc.groups, (std::vector<std::string>{"a", "b"}));  // groups are unioned
  EXPECT_EQ(svc.password, "pw");
  EXPECT_FALSE(svc.sudo);  // sudo is always the user's value
}

TEST(Merge, APrehashedUserPasswordClearsTheDefaultHashAlgo) {
  const MergeResult r = merge_with("systemConfig:\n  users: [{name: svc, password: \"$6$s$h\"}]\n");
  const User& svc = r.merged.system_config->users[1];
  EXPECT_EQ(svc.password, "$6$s$h");
  EXPECT_FALSE(svc.hash_algo);
}

TEST(Merge, AdditionalFilesMergeByFinalPathInStableOrder) {  // fix: the reference order was random
  const MergeResult r = merge_with(
      "systemConfig:\n  additionalFiles: [{local: u3, final: /etc/three}, {local: u2, final: /etc/two}]\n");
  const auto& files = r.merged.system_config->additional_files;
  ASSERT_EQ(files.size(), 3U);
  EXPECT_EQ(files[0].local, "f1");
  EXPECT_EQ(files[1].local, "u2");  // the user wins on the same final path
  EXPECT_EQ(files[1].declared_in, "user.yml");
  EXPECT_EQ(files[2].local, "u3");
  EXPECT_EQ(files[0].declared_in, "default.yml");
}

// The reference looks for a relative local beside every template of the
// merge chain; the declaring template's directory is tried first.
TEST(Merge, AdditionalFilesAreLookedForBesideTheDeclaringTemplateThenTheChain) {
  ImageTemplate d = parse_template_text(kDefault, "/config/osv/d/defaultconfigs/default.yml");
  ImageTemplate u = parse_template_text(
      std::string(kUserHead) + "systemConfig:\n  additionalFiles: [{local: ../files/x, final: /etc/x}]\n",
      "/project/templates/user.yml");
  const MergeResult r = merge_templates(d, u);
  const auto& files = r.merged.system_config->additional_files;
  ASSERT_EQ(files.size(), 3U);
  EXPECT_EQ(files[0].merge_chain, (std::vector<std::filesystem::path>{d.source, u.source}));
  EXPECT_EQ(additional_file_candidates(files[0], r.merged.source),
            (std::vector<std::filesystem::path>{"/config/osv/d/defaultconfigs/f1", "/project/templates/f1"}));
  EXPECT_EQ(additional_file_candidates(files[2], r.merged.source),
            (std::vector<std::filesystem::path>{"/project/files/x", "/config/osv/d/files/x"}));
  AdditionalFile absolute{.local = "/srv/a/../b", .final = "/etc/b", .declared_in = u.source};
  absolute.merge_chain = files[0].merge_chain;
  EXPECT_EQ(additional_file_candidates(absolute, r.merged.source), std::vector<std::filesystem::path>{"/srv/b"});
}

TEST(Merge, ConfigurationsRunDefaultThenUserKeepingDuplicates) {
  const MergeResult r = merge_with("systemConfig: {configurations: [{cmd: u1}, {cmd: d1}]}\n");
  const auto& c = r.merged.system_config->configurations;
  ASSERT_EQ(c.size(), 3U);
  EXPECT_EQ(c[0].cmd, "d1");
  EXPECT_EQ(c[1].cmd, "u1");
  EXPECT_EQ(c[2].cmd, "d1");
}

TEST(Merge, ImmutabilityMergesOnlyWhenTheUserHasTheSection) {
  EXPECT_TRUE(merge_with("systemConfig: {hostname: x}\n").merged.system_config->immutability->enabled);
  EXPECT_FALSE(merge_with("systemConfig: {immutability: {enabled: false}}\n").merged.system_config->immutability->enabled);
}

TEST(Merge, ImmutabilityIsForcedOffWithoutAHashPartition) {
  const MergeResult r = merge_with("disk: {name: Mine, size: 4GiB, partitions: [{id: root, type: linux, start: 1MiB, end: \"0\", mountPoint: /}]}\n");
  EXPECT_FALSE(r.merged.system_config->immutability->enabled);
  ASSERT_EQ(r.warnings.size(), 1U);
  EXPECT_NE(r.warnings[0].find("immutability.enabled forced to false"), std::string::npos);
}

TEST(Merge, MarksPointIntoTheFileThatWroteTheKey) {
  const MergeResult r = merge_with("systemConfig: {hostname: x}\n");
  EXPECT_EQ(r.merged.marks.at("systemConfig.hostname").file, "user.yml");
  EXPECT_EQ(r.merged.marks.at("disk.partitions[1].end").file, "default.yml");
  EXPECT_EQ(r.merged.source, "user.yml");
}

TEST(Merge, MergesTheReferenceToolsTemplatesLikeTheReference) {
  const auto dir = std::filesystem::path(OIC_SOURCE_ROOT) / "tests" / "data" / "templates";
  const MergeResult r = merge_templates(parse_template_file(dir / "reference-elxr12-default-raw.yml"),
                                        parse_template_file(dir / "reference-elxr12-minimal-raw.yml"));
  const ImageTemplate& m = r.merged;
  EXPECT_EQ(m.disk->name, "Minimal_Raw");             // the user's disk replaced the default's
  EXPECT_EQ(m.disk->partitions.size(), 2U);
  EXPECT_EQ(m.system_config->bootloader->provider, "grub");
  EXPECT_FALSE(m.system_config->immutability->enabled);
  EXPECT_EQ(m.system_config->kernel->uki, true);       // from the default
  EXPECT_EQ(m.system_config->packages.front(), "ca-certificates");
  EXPECT_EQ(m.system_config->packages.back(), "grub-efi-amd64-bin");
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_TRUE(check_partitions(m).empty());
}

}  // namespace
}  // namespace config
