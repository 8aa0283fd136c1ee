#include "stages/installer/installer_stage.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "base/error.hpp"
#include "base/file_write.hpp"
#include "ipc/shared.hpp"
#include "stages/installer/bootloader.hpp"
#include "stages/installer/build_env.hpp"
#include "stages/installer/initramfs.hpp"
#include "stages/installer/initramfs_cache.hpp"
#include "stages/installer/os_config.hpp"
#include "stages/installer/package_installer.hpp"
#include "stages/installer/sbom.hpp"
#include "stages/installer/ssh_host_keys.hpp"
#include "stages/installer/verity_state.hpp"

namespace stage::installer {
namespace {

namespace fs = std::filesystem;
namespace proto = ipc::proto;

OpenDir open_dir(ipc::StageContext& context, proto::FdRef::Reader ref, std::string_view what) {
  OpenDir dir;
  dir.fd = context.open(ref, O_RDONLY | O_DIRECTORY, what);
  dir.path = directory_path(dir.fd.get());
  return dir;
}

// Builds the base tree: bootstrap, or a copy of the saved build environment.
bool make_base(proto::InstallerRequest::Reader request, const PackageInstaller& installer, const OpenDir& root,
               ipc::StageContext& context) {
  const proto::BuildEnv::Reader env = request.getBuildEnv();
  if (env.getMode() == proto::BuildEnv::Mode::REUSE) {
    const OpenDir saved = open_dir(context, env.getDir(), "buildEnv.dir");
    base::require(!is_empty_tree(saved.path), "Failed to reuse build environment '" + saved.path.string() + "': it is empty");
    context.log(ipc::LogLevel::kInfo, "Reusing build environment " + saved.path.string());
    context.progress({.phase = "reuse build environment", .item = saved.path.string()});
    copy_tree(saved.path, root.path);
    return true;
  }
  // SAVE: rootDir is the tree being saved (buildEnv.dir names it too); the
  // request ends after the packages, so nothing of the template runs there.
  base::require(env.getMode() != proto::BuildEnv::Mode::SAVE || env.getDir().getPath() == request.getRootDir().getPath(),
               "Failed to save the build environment: buildEnv.dir must name rootDir");
  installer.bootstrap(request, root.path, context);
  // Before the save: no build environment holds a machine's identity.
  if (const int removed = remove_ssh_host_keys(root.path); removed > 0) {
    context.log(ipc::LogLevel::kInfo, "Removed " + std::to_string(removed) +
                                          " SSH host key files the packages made; the image makes its own at first boot");
  }
  return false;
}

void encode_installed(const std::vector<TreePackage>& installed, proto::InstallerResult::Builder result) {
  auto list = result.initInstalled(static_cast<unsigned>(installed.size()));
  for (unsigned i = 0; i < installed.size(); ++i) {
    list[i].setName(installed[i].name);
    list[i].setVersion(installed[i].version);
    list[i].setArchitecture(installed[i].architecture);
  }
}

// The SBOM in the tree (/usr/share/sbom) and in the output directory.
void write_sbom(proto::InstallerRequest::Reader request, const fs::path& root, std::vector<TreePackage> installed,
                std::int64_t epoch, ipc::StageContext& context, proto::InstallerResult::Builder out) {
  const proto::InstallerRequest::Sbom::Reader sbom = request.getSbom();
  if (!sbom.getEnabled()) return;
  const std::string name = sbom.getFileName();
  base::require(!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..",
               "Failed to decode installer request: sbom.fileName '" + name + "' must be a plain file name");
  context.progress({.phase = "sbom", .item = name});
  const std::string document = make_spdx_sbom(root, request, std::move(installed), epoch);
  write_file_in_root(root, "usr/share/sbom/" + name, document, 0644);
  const OpenDir output = open_dir(context, request.getOutputDir(), "outputDir");
  base::write_file_atomically(output.fd.get(), name, document, 0644);
  out.setSbomPath(name);
}

// The initramfs: made by the image's tool, or the one kept for an identical tree.
void make_or_reuse(proto::InstallerRequest::Reader request, const OpenDir& root, const KernelInfo& kernel,
                   bool verity, std::int64_t epoch, ipc::StageContext& context, proto::InstallerResult::Builder out) {
  InitramfsContents contents{.verity_root = verity};
  for (auto name : request.getExtraModules()) contents.extra_modules.emplace_back(name);
  const std::string tool = request.getInitramfsTool();
  std::optional<OpenDir> cache_dir;  // open while it is read
  std::optional<fs::path> cache;
  if (request.hasInitramfsCache() && request.getInitramfsCache().getPath().size() > 0) {
    cache_dir = open_dir(context, request.getInitramfsCache(), "initramfsCache");
    cache = cache_dir->path;
  }
  const InitramfsOutcome outcome = make_or_reuse_initramfs(root.path, kernel, tool, contents, epoch, cache, [&] {
    make_initramfs(root.path, kernel, tool, contents);
  });
  if (outcome.reused) {
    context.log(ipc::LogLevel::kInfo, "Reused the initramfs " + outcome.key + " made for an identical tree");
  }
  if (!outcome.also_changed.empty()) {
    context.log(ipc::LogLevel::kInfo, "The initramfs is not kept for reuse: " + tool + " also changed /" +
                                          outcome.also_changed.front() + " (" +
                                          std::to_string(outcome.also_changed.size()) + " paths)");
  }
  out.setInitramfsKey(outcome.key);
  out.setInitramfsReused(outcome.reused);
  ipc::copy_texts(outcome.touched, out.initInitramfsTouched(static_cast<unsigned>(outcome.touched.size())));
}

}  // namespace

fs::path directory_path(int fd) {
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  std::error_code ec;
  const fs::path link = fs::read_symlink(self, ec);
  struct stat by_fd {}, by_path {};
  if (!ec && link.is_absolute() && ::fstat(fd, &by_fd) == 0 && ::stat(link.c_str(), &by_path) == 0 &&
      by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino) {
    return link;
  }
  return self;
}

void run_request(proto::StageRequest::Reader request, ipc::StageContext& context, proto::StageResult::Builder result) {
  base::require(request.isInstaller(), "Failed to run stage-installer: the request is for another stage");
  const proto::InstallerRequest::Reader installer = request.getInstaller();
  if (request.getSourceDateEpoch() >= 0) {
    ::setenv("SOURCE_DATE_EPOCH", std::to_string(request.getSourceDateEpoch()).c_str(), 1);
  }
  const OpenDir root = open_dir(context, installer.getRootDir(), "rootDir");
  base::require(is_empty_tree(root.path), "Failed to build the tree in '" + root.path.string() + "': it is not empty");
  check_verity_boot(decode_boot_settings(installer));  // before the long part, not after it
  if (!fs::exists(root.path / "proc/self")) {
    context.log(ipc::LogLevel::kWarning, "no /proc is mounted in the tree; maintainer scripts that need it may fail");
  }
  // The family's installer: the target's dpkg, or the host's rpm into the
  // request's rpmdb.
  std::unique_ptr<PackageInstaller> rpm;
  if (installer.getPackageFamily().isRpm()) rpm = rpm_installer(installer.getPackageFamily().getRpm().getDbPath().cStr());
  const PackageInstaller& packages = rpm ? *rpm : dpkg_installer();
  proto::InstallerResult::Builder out = result.initInstaller();
  out.setRootDir(root.path.string());
  out.setBuildEnvReused(make_base(installer, packages, root, context));
  if (installer.getBuildEnv().getMode() == proto::BuildEnv::Mode::SAVE) {
    // policy-rc.d stays: a build reusing the tree configures it with it.
    context.log(ipc::LogLevel::kInfo, "Installed the build environment " + root.path.string());
    encode_installed(packages.installed(root.path), out);
    return;
  }

  context.progress({.phase = "configure"});
  apply_os_configuration(root.path, installer, context);
  if (make_ssh_host_keys_at_first_boot(root.path)) {
    context.log(ipc::LogLevel::kInfo, std::string("SSH host keys are made at first boot (") + kSshHostKeysUnit + ")");
  }
  const bool verity = wants_verity(installer);
  if (verity) configure_read_only_root(root.path, decode_fstab(installer));
  if (end_stray_processes()) {
    context.log(ipc::LogLevel::kWarning, "Ended processes the configuration left running");
  }
  // Before the initramfs's key is taken: the package tools' logs and backups
  // differ between a cold install and a copied build environment (their
  // times), and the image keeps neither (removed again below).
  remove_build_logs(root.path);
  if (!rpm) remove_dpkg_backups(root.path);
  const std::optional<KernelInfo> kernel = find_kernel(root.path, installer.getInitrdFileName().cStr());
  if (kernel) {
    context.progress({.phase = "initramfs", .item = kernel->version});
    make_or_reuse(installer, root, *kernel, verity, request.getSourceDateEpoch(), context, out);
    out.setKernelPath(kernel->kernel_path);
    out.setInitrdPath(kernel->initrd_path);
    out.setKernelVersion(kernel->version);
  }
  // A verity root without a boot loader is refused there (it needs the UKI).
  if (installer.getBootloader().getType().size() > 0 || installer.getUki() || verity) {
    context.progress({.phase = "bootloader", .item = installer.getBootloader().getProvider().cStr()});
    const std::vector<std::string> files = install_boot_loader(root.path, installer, kernel);
    auto list = out.initBootFiles(static_cast<unsigned>(files.size()));
    for (unsigned i = 0; i < files.size(); ++i) list.set(i, files[i]);
  }
  // Listed once, before finish(): rpm's listing itself leaves what finish() removes.
  const std::vector<TreePackage> installed = packages.installed(root.path);
  write_sbom(installer, root.path, installed, request.getSourceDateEpoch(), context, out);
  packages.finish(root.path);
  remove_build_logs(root.path);
  if (!rpm) remove_dpkg_backups(root.path);
  // Last: nothing writes to /var any more.
  if (verity) copy_writable_state(root.path, decode_fstab(installer));
  encode_installed(installed, out);
}

}  // namespace stage::installer
