// The attended choices written into the installed system: its host name and
// an optional user, created with the installed system's own useradd and
// chpasswd through chroot (so its login.defs, PAM and hashing apply).
#pragma once

#include <filesystem>
#include <string>

namespace live {

struct TargetSettings {
  std::string hostname;   // "" = keep the image's
  std::string user;       // "" = no user
  std::string password;   // "" = the account has no password (locked)
};

// Throws unless `hostname` is an RFC 1123 host name (labels of letters,
// digits and '-', at most 253 characters).
void check_hostname(const std::string& hostname);
// Throws unless `user` is a portable user name: [a-z_][a-z0-9_-]{0,31}.
void check_user_name(const std::string& user);

// Writes /etc/hostname and the 127.0.1.1 line of /etc/hosts under `root`.
void write_hostname(const std::filesystem::path& root, const std::string& hostname);

// Mounts `partition` (file system `fs_type`) at `mount_point`, applies the
// settings and unmounts, also when applying fails.
void apply_settings(const std::string& partition, const std::string& fs_type,
                    const std::filesystem::path& mount_point, const TargetSettings& settings);

}  // namespace live
