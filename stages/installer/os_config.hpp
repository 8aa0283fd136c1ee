// Step 3 of the image build (docs/image-build.md, docs/os-configuration.md):
// the OS configuration every distribution shares, applied to a tree whose
// packages are already installed. Files are written straight into the tree
// (resolved inside it, never outside); users, groups and the template's
// configuration commands run the target's own tools chrooted into it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/stage.capnp.h"
#include "ipc/stage_main.hpp"
#include "base/unique_fd.hpp"
#include "stages/installer/chroot_exec.hpp"

namespace stage::installer {

// Runs one command chrooted into the tree and returns its output; throws
// base::Error naming `what`, the exit status and the output's tail when it
// fails. The stage uses run_in_root_checked; tests record the argv instead.
using CommandRunner = std::function<std::string(const ChrootCommand& command, const std::string& what)>;
CommandRunner make_chroot_runner(const std::filesystem::path& root);

// How long one configuration command may run before it is killed.
inline constexpr std::chrono::seconds kCommandTimeout{600};

void apply_os_configuration(const std::filesystem::path& root, ipc::proto::InstallerRequest::Reader request,
                            ipc::StageContext& context);
void apply_os_configuration(const std::filesystem::path& root, ipc::proto::InstallerRequest::Reader request,
                            ipc::StageContext& context, const CommandRunner& run);

// ---- the pieces, each a function of the tree (tested on a temporary directory) ----

// UserSpec::password_max_age when the template names none: /etc/login.defs decides.
constexpr std::int32_t kDistributionDefaultMaxAge = -2;

struct UserSpec {
  std::string name;
  std::string password_hash;  // crypt(3); empty = locked account
  std::int32_t uid = -1;      // -1 = next free
  std::vector<std::string> groups;
  std::string shell;          // empty = /bin/bash
  std::string home;           // empty = useradd's default
  bool sudo = false;
  std::vector<std::string> ssh_authorized_keys;
  std::string startup_script;  // empty = none; else the login shell, a file of the image
  std::int32_t password_max_age = kDistributionDefaultMaxAge;  // days (chage -M); -1 = no limit
};

struct FstabLine {
  std::string spec;
  std::string mount_point;
  std::string fs_type;
  std::string options;  // empty = "defaults"
  unsigned dump = 0;
  unsigned pass = 0;
};

// /etc/hostname and /etc/hosts.
void write_hostname(const std::filesystem::path& root, std::string_view hostname);
// An empty /etc/machine-id (0444), so systemd makes a fresh one on first boot;
// the D-Bus copy is removed for the same reason.
void reset_machine_id(const std::filesystem::path& root);
// What the package tools write about this build's own run, not the image:
// their logs (times of this run) and ldconfig's aux-cache (inode numbers and
// times of this tree); removed as mmdebstrap removes them
// (docs/reproducible-builds.md). A missing file is fine; a link is removed,
// never followed.
void remove_build_logs(const std::filesystem::path& root);
// The *-old backups of dpkg's and debconf's databases, the same way. The
// Debian family only: in an rpm tree a file of that name is a package's.
void remove_dpkg_backups(const std::filesystem::path& root);
std::string format_fstab(const std::vector<FstabLine>& lines);
// The lines alone, without format_fstab's header.
std::string format_fstab_lines(const std::vector<FstabLine>& lines);
// The request's fstab entries, in its order.
std::vector<FstabLine> decode_fstab(ipc::proto::InstallerRequest::Reader request);
void write_kernel_cmdline(const std::filesystem::path& root, std::string_view cmdline);
// Groups, the account, its password, sudo and SSH keys. A sudo user joins
// `sudo_group`, the distribution's ("sudo", "wheel": provider config.yml).
void create_user(const std::filesystem::path& root, const UserSpec& user, std::string_view sudo_group,
                 const CommandRunner& run);
// The user's login shell in /etc/passwd becomes its startup script, which
// must be an executable file of the tree by then (additional files are placed first).
void set_startup_script(const std::filesystem::path& root, const UserSpec& user);
// Copies `source` to `destination` (absolute, inside the image) with `mode`,
// owned by root; refuses ".." and resolves symlinks inside the tree.
void install_additional_file(const std::filesystem::path& root, int source_fd, std::string_view destination,
                             mode_t mode);
// The argv a template command runs as: a script goes to the image's /bin/sh.
std::vector<std::string> command_argv(ipc::proto::InstallerRequest::Command::Reader command);

// ---- files inside the tree (shared by the boot loader and SBOM steps) ----

// `path` relative to the tree ("etc/hostname" or "/etc/hostname"), resolved
// with RESOLVE_IN_ROOT so that no symlink in the tree can lead outside it.
// Returns an invalid fd when it does not exist (when `flags` has no O_CREAT).
base::UniqueFd open_in_root(const std::filesystem::path& root, std::string_view path, int flags,
                               mode_t mode = 0);
// Creates every missing directory of `dir` inside the tree with mode 0755.
void make_dirs_in_root(const std::filesystem::path& root, std::string_view dir);
// Writes `content` to `path` inside the tree (parents made 0755), then sets
// `mode` and makes the stage's own uid and gid (root in its namespace) the owner.
void write_file_in_root(const std::filesystem::path& root, std::string_view path, std::string_view content,
                        mode_t mode);
std::optional<std::string> read_file_in_root(const std::filesystem::path& root, std::string_view path);
bool exists_in_root(const std::filesystem::path& root, std::string_view path);
// Removes `dir`/`name` inside the tree (a link itself, never what it names);
// a missing file or directory is fine.
void remove_in_root(const std::filesystem::path& root, std::string_view dir, const char* name);
// Makes `dir`/`name` inside the tree a symlink to `target` (parents made 0755),
// replacing what was there.
void link_in_root(const std::filesystem::path& root, std::string_view dir, const std::string& name,
                  const std::string& target);
// The entry of /etc/passwd or /etc/group (`db`) whose first field is `name`, split at ':'.
std::optional<std::vector<std::string>> find_db_entry(const std::filesystem::path& root, std::string_view db,
                                                      std::string_view name);

}  // namespace stage::installer
