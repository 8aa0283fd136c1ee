// The provider defaults of the hermetic installable world (make-debrepo.sh
// --installable): one ESP (systemd-boot) and one ext4 root, replaced so that
// nothing needs a Debian package. Shared by the builds on that world.
#pragma once

namespace tests::hermetic {

inline constexpr const char* kInstallableDefaults = R"(image:
  name: debian12-x86_64
  version: "12.0.0"
target:
  os: debian
  dist: debian12
  arch: x86_64
  imageType: raw
disk:
  name: Default_Raw
  artifacts:
    - type: raw
  size: 96MiB
  partitionTableType: gpt
  partitions:
    - id: boot
      type: esp
      flags: [esp, boot]
      start: 1MiB
      end: 41MiB
      fsType: fat32
      mountPoint: /boot/efi
      mountOptions: umask=0077
    - id: rootfs
      type: linux-root-amd64
      start: 41MiB
      end: "0"
      fsType: ext4
      mountPoint: /
      mountOptions: defaults
systemConfig:
  name: Default_Raw
  description: hermetic end-to-end build
  bootloader:
    bootType: efi
    provider: systemd-boot
  packages:
    - foo
    - oic-boot
  kernel:
    name: none
    cmdline: "console=ttyS0"
)";

}  // namespace tests::hermetic
