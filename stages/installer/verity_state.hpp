// The writable state of a read-only root (dm-verity, request.verity;
// docs/os-configuration.md "dm-verity root"). The root file system is
// hashed once and never changes, so what the running system writes lives
// elsewhere, as the reference keeps it: with a partition mounted at /opt,
// /var and /home are copies there bind-mounted back and /etc is an overlay
// whose upper layer is /opt/overlay/etc (all kept across reboots); without
// one, /etc's upper layer is under /run and /var/tmp a tmpfs (lost at
// reboot). /tmp is always a tmpfs.
#pragma once

#include <filesystem>
#include <vector>

#include "ipc/stage.capnp.h"
#include "stages/installer/os_config.hpp"

namespace stage::installer {

// Whether the request asks for a dm-verity root (either partition UUID set).
bool wants_verity(ipc::proto::InstallerRequest::Reader request);

// The fstab lines a read-only root adds after the request's `fstab`: none
// for a mount point the request already mounts (a /var partition of its own
// is writable as it is).
std::vector<FstabLine> read_only_root_mounts(const std::vector<FstabLine>& fstab);

// Writes /etc/fstab (the request's lines and read_only_root_mounts), the
// /etc overlay's script and unit (/usr/local/bin/setup-overlay.sh,
// /etc/systemd/system/setup-overlay.service, enabled for local-fs.target)
// and, with /opt, the overlay's /opt/overlay/etc/{upper,work}.
void configure_read_only_root(const std::filesystem::path& root, const std::vector<FstabLine>& fstab);

// With /opt in `fstab`: copies the tree's /var and /home (owners, modes,
// xattrs, links as links) to /opt/var and /opt/home, unless the request
// mounts them itself. Run last, once nothing writes to /var any more; the
// root keeps its own copy below the bind mounts.
void copy_writable_state(const std::filesystem::path& root, const std::vector<FstabLine>& fstab);

}  // namespace stage::installer
