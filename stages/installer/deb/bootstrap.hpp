// Bootstrapping a root tree from .deb files the way mmdebstrap does: the
// essential set is unpacked with libarchive so that the target's own dpkg
// can run, then dpkg installs every package in batches inside the tree.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace stage::installer {

// What the bootstrap needs to know of one package file.
struct DebPackage {
  std::string name;
  std::string version;
  std::string architecture;
  bool essential = false;                // "Essential: yes"
  std::vector<std::string> pre_depends;  // package names, as the lockfile has them
  int fd = -1;                           // the .deb, open for reading (not owned)
};

// The relation fields of a .deb's control file that decide the essential set.
struct DebControl {
  std::string package;
  std::string version;
  std::string architecture;
  std::vector<std::vector<std::string>> depends;  // Pre-Depends and Depends: groups of alternatives
  std::vector<std::string> provides;
};

// Reads DEBIAN/control of the .deb open at `fd` (from offset 0). `what`
// names the file in errors.
DebControl read_deb_control(int fd, std::string_view what);

struct ExtractStats {
  std::size_t entries = 0;
  std::size_t skipped_devices = 0;  // device nodes cannot be made in a user namespace
};

// Extracts the data.tar.* member of the .deb open at `fd` under `root`:
// numeric owners, modes (setuid too), symlinks, hardlinks, xattrs and mtimes.
// Throws base::Error (kInvalidInput) for an absolute member name or one with a
// ".." component; skips character and block devices. Symlinks already in the
// tree are followed, so callers confine the process to the tree (chroot)
// before extracting untrusted archives; see extract_into_tree.
ExtractStats extract_deb_data(int fd, const std::filesystem::path& root, std::string_view what);

// Extracts every package in `debs` into `root` from a child process chrooted
// into it: absolute symlinks in the tree (merged /usr, alternatives) resolve
// inside the tree, never on the stage's own file system.
ExtractStats extract_into_tree(const std::filesystem::path& root, const std::vector<DebPackage>& debs);

// The essential set as mmdebstrap computes it: every Essential package and
// everything it (pre-)depends on, transitively, within `controls`. Indexes
// into `controls` in their original order.
std::vector<std::size_t> essential_closure(const std::vector<DebControl>& controls,
                                           const std::vector<bool>& essential);

// One dpkg call: indexes into the planned package list, in installation order.
struct Batch {
  std::vector<std::size_t> packages;
  bool essential = false;  // installed with --force-depends after extraction
};

struct PlanInput {
  std::string name;
  bool essential = false;                // in the essential set
  std::vector<std::string> pre_depends;  // names; those outside the list are ignored
};

// Splits `packages` (in installation order) into as few dpkg calls as
// possible: the essential set first (one batch), then consecutive runs of the
// others, starting a new run whenever a package pre-depends on one of the
// current run (it must be configured before the dependent is unpacked).
// Throws base::Error (kInvalidInput) naming the packages when Pre-Depends form
// a cycle or point at a package later in the order.
std::vector<Batch> plan_batches(const std::vector<PlanInput>& packages);

// Called before each dpkg call: batch number (0-based), batch count, batch.
using BatchProgress = std::function<void(std::size_t, std::size_t, const Batch&)>;

struct BootstrapOptions {
  std::string native_architecture;  // for /var/lib/dpkg/arch and merged-/usr links
  std::chrono::seconds dpkg_timeout{3600};
  // Told "unpack essential" before the essential set is extracted (the
  // timing table's step; the batches report through BatchProgress).
  std::function<void(const std::string& step)> on_step;
};

// The whole bootstrap into the empty directory `root`: merged-/usr layout,
// extraction of the essential set, policy-rc.d, the dpkg database, then dpkg
// in the tree for every batch. The copied .debs and apt caches are removed;
// policy-rc.d stays (remove_policy_rc_d at the end of the stage).
void bootstrap(const std::filesystem::path& root, const std::vector<DebPackage>& packages,
               const BootstrapOptions& options, const BatchProgress& progress);

// Removes /usr/sbin/policy-rc.d written by bootstrap().
void remove_policy_rc_d(const std::filesystem::path& root);

// A package dpkg lists as installed in /var/lib/dpkg/status.
struct DpkgStatusEntry {
  std::string name;
  std::string version;
  std::string architecture;
  std::string maintainer;
  std::string status;  // "install ok installed" when all went well
};

// Every package in the status file of the tree, sorted by name.
std::vector<DpkgStatusEntry> read_dpkg_status(const std::filesystem::path& root);

}  // namespace stage::installer
