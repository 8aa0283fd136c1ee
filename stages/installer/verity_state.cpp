#include "stages/installer/verity_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "stages/installer/build_env.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStateMount = "/opt";
constexpr std::string_view kScript = "usr/local/bin/setup-overlay.sh";
constexpr std::string_view kUnitDir = "etc/systemd/system";
constexpr std::string_view kUnit = "setup-overlay.service";
// /etc's upper and work directories: kept on /opt, or lost with /run.
constexpr std::string_view kKeptEtcState = "/opt/overlay/etc";
constexpr std::string_view kRunEtcState = "/run/overlay/etc";
// The directories copied to /opt and bind-mounted back.
constexpr std::string_view kKeptDirs[] = {"var", "home"};

bool mounts(const std::vector<FstabLine>& fstab, std::string_view mount_point) {
  return std::any_of(fstab.begin(), fstab.end(), [&](const FstabLine& l) { return l.mount_point == mount_point; });
}

// /etc is an overlay set up by a unit rather than an fstab line: PID 1 finds
// /etc/machine-id empty on the read-only root and bind-mounts a transient
// one from /run/machine-id over it before any fstab mount; an overlay
// mounted over /etc hides that mount, and only a script can put it back on
// top (an fstab line cannot run anything after its mount). The unit orders
// itself after /opt (RequiresMountsFor) and before local-fs.target, so
// every service started after the local file systems sees the writable /etc.
// What systemd itself read from /etc at start (units, system.conf) is the
// root's, the overlay's changes to them apply after a daemon-reload.
std::string overlay_script() {
  return "#!/bin/sh\n"
         "# Written by os-image-composer for the read-only dm-verity root: /etc becomes\n"
         "# an overlay whose upper layer is in $1 (/opt: kept across reboots; /run: lost).\n"
         "set -eu\n"
         "state=\"$1\"\n"
         "mkdir -p \"$state/upper\" \"$state/work\"\n"
         "mount -t overlay overlay -o \"lowerdir=/etc,upperdir=$state/upper,workdir=$state/work\" /etc\n"
         "# systemd mounted a transient machine ID over the root's empty /etc/machine-id;\n"
         "# the overlay hides it, so it goes back on top.\n"
         "if [ -s /run/machine-id ]; then\n"
         "  mount --bind /run/machine-id /etc/machine-id\n"
         "fi\n";
}

std::string overlay_unit(bool kept) {
  const std::string state(kept ? kKeptEtcState : kRunEtcState);
  return "# Written by os-image-composer: /etc of the read-only dm-verity root as an overlay.\n"
         "[Unit]\n"
         "Description=Writable /etc overlay on the read-only root\n"
         "DefaultDependencies=no\n" +
         (kept ? "RequiresMountsFor=" + std::string(kStateMount) + "\n" : std::string()) +
         "After=systemd-remount-fs.service\n"
         "Before=local-fs.target systemd-tmpfiles-setup.service systemd-machine-id-commit.service umount.target\n"
         "Conflicts=umount.target\n"
         "ConditionPathIsReadWrite=!/etc\n"
         "\n"
         "[Service]\n"
         "Type=oneshot\n"
         "RemainAfterExit=yes\n"
         "ExecStart=/" + std::string(kScript) + " " + state + "\n"
         "\n"
         "[Install]\n"
         "WantedBy=local-fs.target\n";
}

// `systemctl enable`'s link, made in the tree: <dir>/<name> -> `target`.
// A directory of the tree that host paths may name: a real directory, no
// symlink that could lead the host's cp out of the tree.
void require_real_directory(const fs::path& root, const std::string& path) {
  const fs::file_type type = fs::symlink_status(root / path).type();
  base::require(type == fs::file_type::directory,
                "Failed to set up the writable state of the dm-verity root: '/" + path + "' of the image is " +
                    (type == fs::file_type::symlink ? "a symbolic link" : "not a directory") +
                    "; it must be a directory to be copied to /opt");
}

// The template's commands may have made entries below /opt/<dir> already
// (the emt3 default makes /opt/var/lib/sshd): the image's /<dir> is merged
// into them by `cp -a`, which is safe only where no path of both is
// anything but a real directory in both (a file would be overwritten, a
// symbolic link written through).
void require_mergeable(const fs::path& from, const fs::path& into, const std::string& shown_from,
                       const std::string& shown_into) {
  for (const fs::directory_entry& entry : fs::directory_iterator(into)) {
    const std::string name = entry.path().filename().string();
    const fs::file_type source = fs::symlink_status(from / name).type();
    if (source == fs::file_type::not_found) continue;
    const bool directories = source == fs::file_type::directory && entry.symlink_status().type() == fs::file_type::directory;
    base::require(directories, "Failed to copy '" + shown_from + "/" + name + "' of the image to '" + shown_into +
                                   "/" + name + "' (its writable copy for the dm-verity root): the configuration "
                                   "already made '" + shown_into + "/" + name + "', and only directories merge");
    require_mergeable(from / name, entry.path(), shown_from + "/" + name, shown_into + "/" + name);
  }
}

}  // namespace

bool wants_verity(ipc::proto::InstallerRequest::Reader request) {
  return request.getVerity().getDataPartUuid().size() > 0 || request.getVerity().getHashPartUuid().size() > 0;
}

std::vector<FstabLine> read_only_root_mounts(const std::vector<FstabLine>& fstab) {
  const std::string kept = "bind,x-systemd.requires-mounts-for=" + std::string(kStateMount);
  std::vector<FstabLine> lines;
  if (mounts(fstab, kStateMount)) {
    for (std::string_view dir : kKeptDirs) {
      const std::string target = "/" + std::string(dir);
      if (!mounts(fstab, target)) lines.push_back({std::string(kStateMount) + target, target, "none", kept, 0, 0});
    }
  } else if (!mounts(fstab, "/var") && !mounts(fstab, "/var/tmp")) {
    lines.push_back({"tmpfs", "/var/tmp", "tmpfs", "mode=1777", 0, 0});
  }
  if (!mounts(fstab, "/tmp")) lines.push_back({"tmpfs", "/tmp", "tmpfs", "mode=1777", 0, 0});
  return lines;
}

void configure_read_only_root(const fs::path& root, const std::vector<FstabLine>& fstab) {
  base::ErrorContext ctx{"setting up the writable state of the dm-verity root in", root.string()};
  const std::vector<FstabLine> added = read_only_root_mounts(fstab);
  for (const FstabLine& line : added) make_dirs_in_root(root, line.mount_point);  // on the read-only root
  // Appended to what the OS configuration left (its commands may edit fstab too).
  std::string text = read_file_in_root(root, "etc/fstab").value_or(format_fstab({}));
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += "# The read-only dm-verity root's writable state (/etc: " + std::string(kUnit) + ")\n" +
          format_fstab_lines(added);
  write_file_in_root(root, "etc/fstab", text, 0644);
  const bool kept = mounts(fstab, kStateMount);
  if (kept) {
    for (const char* dir : {"upper", "work"}) make_dirs_in_root(root, std::string(kKeptEtcState) + "/" + dir);
  }
  write_file_in_root(root, kScript, overlay_script(), 0755);
  write_file_in_root(root, std::string(kUnitDir) + "/" + std::string(kUnit), overlay_unit(kept), 0644);
  link_in_root(root, std::string(kUnitDir) + "/local-fs.target.wants", std::string(kUnit),
               "/" + std::string(kUnitDir) + "/" + std::string(kUnit));
}

void copy_writable_state(const fs::path& root, const std::vector<FstabLine>& fstab) {
  if (!mounts(fstab, kStateMount)) return;
  base::ErrorContext ctx{"copying the writable state of the dm-verity root to /opt in", root.string()};
  const std::string opt(kStateMount.substr(1));
  make_dirs_in_root(root, opt);
  require_real_directory(root, opt);
  for (std::string_view name : kKeptDirs) {
    const std::string dir(name);
    if (mounts(fstab, "/" + dir)) continue;
    make_dirs_in_root(root, dir);
    require_real_directory(root, dir);
    const fs::file_type existing = fs::symlink_status(root / opt / dir).type();
    if (existing != fs::file_type::not_found) {
      base::require(existing == fs::file_type::directory,
                    "Failed to copy '/" + dir + "' of the image to '/" + opt + "/" + dir +
                        "' (its writable copy for the dm-verity root): the image has '/" + opt + "/" + dir +
                        "', and it is not a directory");
      require_mergeable(root / dir, root / opt / dir, "/" + dir, "/" + opt + "/" + dir);
    }
    copy_directory_into(root / dir, root / opt);
  }
}

}  // namespace stage::installer
