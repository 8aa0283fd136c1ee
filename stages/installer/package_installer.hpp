// What a package family's installer does inside stage-installer, behind one
// small interface (the shape of OpenSSH's ssh-sandbox.h: this header, one
// implementation per family in a subfolder): install the request's packages
// into the empty tree, tell what the tree's package database lists as
// installed, and remove what was there only for the installation. Shared by
// every family and not behind it: build environments (build_env.*), OS
// configuration (os_config.*), initramfs, boot loader files, SBOM, the
// package digest check (package_digest.*) and chroot_exec.*.
//
// dpkg's implementation is deb/, rpm's is rpm/; the request's
// packageFamily union chooses, and each package entry carries its family's
// fields (PackageFile.deb, PackageFile.rpm).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/stage_main.hpp"

namespace stage::installer {

// A package the tree's package database lists as fully installed.
struct TreePackage {
  std::string name;
  std::string version;
  std::string architecture;
  std::string maintainer;  // the SBOM's supplier; empty when not recorded
};

class PackageInstaller {
 public:
  virtual ~PackageInstaller() = default;

  // Installs every package of `request` into the empty tree `root`, in the
  // request's order, from the files it hands over (each checked against its
  // sha256 first); reports progress and checks for cancellation through
  // `context`. What keeps services from starting in the tree stays until
  // finish().
  virtual void bootstrap(ipc::proto::InstallerRequest::Reader request, const std::filesystem::path& root,
                         ipc::StageContext& context) const = 0;

  // The packages the tree's database lists as fully installed, by name.
  virtual std::vector<TreePackage> installed(const std::filesystem::path& root) const = 0;

  // Removes what bootstrap() left to keep services from starting. A saved
  // build environment keeps it: a build reusing the tree installs into it.
  virtual void finish(const std::filesystem::path& root) const = 0;
};

// dpkg: the essential set unpacked first, then dpkg in the tree in batches.
const PackageInstaller& dpkg_installer();

// The host's rpm into the rpmdb at `db_path` (inside the tree): the keys
// imported, one transaction, the deferred packages in a second one without
// scriptlets. Throws base::Error(kInvalidInput) for a bad `db_path`.
std::unique_ptr<PackageInstaller> rpm_installer(std::string_view db_path);

}  // namespace stage::installer
