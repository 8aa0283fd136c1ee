#include "config/emit.hpp"

#include <gtest/gtest.h>

#include "build_info.hpp"
#include "config/load.hpp"
#include "config/template_parser.hpp"

namespace config {
namespace {

// Every key of the format at least once, with values YAML could misread.
constexpr const char* kEveryKey = R"(metadata:
  description: "all keys"
  use_cases: [testing]
  keywords: ["true", "null"]
image: {name: every-key, version: "1.0.0+build.5"}
target: {os: debian, dist: debian12, arch: x86_64, imageType: raw}
disk:
  name: Every
  path: /dev/sda
  size: 8GiB
  partitionTableType: gpt
  artifacts: [{type: raw, compression: zstd}, {type: qcow2}]
  partitions:
    - id: boot
      index: 1
      name: EFI
      type: esp
      typeUUID: c12a7328-f81f-11d2-ba4b-00a0c93ec93b
      fsType: vfat
      fsLabel: ESP
      start: 1MiB
      end: 513MiB
      mountPoint: /boot/efi
      mountOptions: umask=0077
      flags: [esp, boot]
    - {id: rootfs, start: 513MiB, end: "0", mountPoint: /}
packageRepositories:
  - {codename: a, url: "http://127.0.0.1/a", pkey: "[trusted=yes]", component: main contrib, priority: -5, allowPackages: ["lib*"]}
  - {codename: b, path: /srv/b, pkeys: [/k1.gpg, /k2.gpg]}
systemConfig:
  name: Every
  description: ""
  hostname: host
  packages: [vim, "libc6:amd64"]
  kernel: {name: kernel, version: "6.1", cmdline: "quiet splash", packages: [linux-image-amd64], enableExtraModules: "a b", uki: false}
  bootloader: {bootType: efi, provider: grub}
  immutability: {enabled: true, secureBootDBKey: /k/db.key, secureBootDBCrt: /k/db.crt, secureBootDBCer: /k/db.cer}
  users:
    - {name: root, password: "$6$salt$hash"}
    - {name: admin, password: "0", hash_algo: bcrypt, passwordMaxAge: 90, startupScript: /bin/s, groups: [adm, sudo], sudo: true, home: /home/a, shell: /bin/bash}
  initramfs: {template: initrd.yml}
  additionalFiles: [{local: f, final: /etc/f}]
  configurations:
    - cmd: |
        echo "multi"
        echo line
)";

TEST(Emit, ParsingTheOutputGivesTheSameTemplate) {
  const ImageTemplate t = parse_template_text(kEveryKey, "every.yml");
  const std::string text = emit_template(t);
  EXPECT_EQ(parse_template_text(text, "emitted.yml"), t) << text;
}

TEST(Emit, IsDeterministicAndFollowsTheReferenceKeyOrder) {
  const ImageTemplate t = parse_template_text(kEveryKey, "every.yml");
  const std::string text = emit_template(t);
  EXPECT_EQ(text, emit_template(parse_template_text(text, "again.yml")));
  const auto at = [&](const char* key) { return text.find(key); };
  EXPECT_LT(at("metadata:"), at("image:"));
  EXPECT_LT(at("image:"), at("target:"));
  EXPECT_LT(at("target:"), at("disk:"));
  EXPECT_LT(at("disk:"), at("packageRepositories:"));
  EXPECT_LT(at("packageRepositories:"), at("systemConfig:"));
}

TEST(Emit, LeavesOutAbsentKeys) {
  const ImageTemplate t = parse_template_text("image: {name: a, version: \"1\"}\n", "t.yml");
  EXPECT_EQ(emit_template(t), "image:\n  name: \"a\"\n  version: \"1\"\n");
}

TEST(Emit, RoundTripsAMergedTemplate) {
  const auto data = std::filesystem::path(OIC_SOURCE_ROOT) / "tests" / "data";
  const LoadedTemplate t =
      load_merged_template(data / "templates" / "minimal-raw.yml", LoadOptions{data / "config-fake"});
  EXPECT_EQ(parse_template_text(emit_template(t.tmpl), "merged.yml"), t.tmpl);
}

}  // namespace
}  // namespace config
