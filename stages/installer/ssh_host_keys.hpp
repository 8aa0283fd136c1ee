// SSH host keys are a machine's identity. openssh-server's maintainer script
// makes them, at random, when the package is configured: every machine booted
// from one image would share them, and two builds of one image would differ
// (docs/reproducible-builds.md). The installer removes the keys the packages
// made and has the image make its own at first boot.
#pragma once

#include <filesystem>

namespace stage::installer {

// The first-boot unit, in etc/systemd/system.
inline constexpr const char* kSshHostKeysUnit = "ssh-host-keys.service";

// Removes etc/ssh/ssh_host_*_key and their .pub files (links are removed,
// never followed); returns how many. Run on the base, before anything of the
// template: a key a configuration command makes is the template's choice.
int remove_ssh_host_keys(const std::filesystem::path& root);

// When the tree has sshd and systemd and no host key: writes the unit that
// runs `ssh-keygen -A` before the SSH server starts and enables it for
// multi-user.target. Returns whether it did.
bool make_ssh_host_keys_at_first_boot(const std::filesystem::path& root);

}  // namespace stage::installer
