// The pure pieces of an ISO build (iso_build.hpp): the live-installer's
// place, the target disk's facts, /install/manifest.json and the make-iso
// request.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "base/error.hpp"
#include "stages/isomaker/client.hpp"
#include "supervisor/build/image_jobs.hpp"
#include "supervisor/build/iso_build.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
namespace isomaker_client = stage::isomaker::client;

fs::path self_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

const PlannedPartition* partition_at(const DiskLayout& layout, const std::string& mount_point) {
  if (mount_point.empty()) return nullptr;
  const auto it = std::find_if(layout.partitions.begin(), layout.partitions.end(),
                               [&](const PlannedPartition& p) { return p.mount_point == mount_point; });
  return it == layout.partitions.end() ? nullptr : &*it;
}

isomaker_client::PackageFamily package_family(const std::string& name) {
  if (name == "deb") return isomaker_client::PackageFamily::DEB;
  if (name == "rpm") return isomaker_client::PackageFamily::RPM;
  throw base::Error(base::ErrorKind::kUnimplemented, "an ISO cannot carry packages of family '" + name + "'");
}

// In the live tree: GRUB runs from there, through the tree's own loader.
std::string in_usr_bin(const std::string& program) { return "/usr/bin/" + program; }

}  // namespace

fs::path live_installer_binary() {
  std::vector<fs::path> candidates;
  if (const fs::path here = self_dir(); !here.empty()) {
    candidates.push_back(here.parent_path() / "live" / "live-installer");  // build tree
    // Installed: libexecdir as meson placed it, reached from bindir.
    const fs::path installed = fs::path(OIC_LIBEXECDIR).lexically_relative(OIC_BINDIR);
    candidates.push_back((here / installed / "live-installer").lexically_normal());
  }
  for (const auto& candidate : candidates) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  std::string searched;
  for (const auto& c : candidates) searched += "\n  " + c.string();
  throw base::Error(base::ErrorKind::kFailed, "Failed to find live-installer, which an ISO's live environment runs; "
                                              "searched:" + searched)
      .with_hint("build the project (it builds live/live-installer) or install it");
}

IsoDiskFacts iso_disk_facts(const DiskLayout& layout) {
  const PlannedPartition* root = partition_at(layout, "/");
  base::require(root != nullptr, "an ISO's target disk needs a partition mounted at /");
  const auto last = std::max_element(layout.partitions.begin(), layout.partitions.end(),
                                     [](const PlannedPartition& a, const PlannedPartition& b) { return a.start < b.start; });
  const std::string why = "the installer grows / to fill the disk it installs on";
  base::require(&*last == root, "disk.partitions: the partition mounted at / must be the last one on an ISO's "
                                "target disk (" + why + "); '" + last->id + "' comes after it");
  const bool ext = root->fs_type == "ext2" || root->fs_type == "ext3" || root->fs_type == "ext4";
  base::require(ext, "disk.partitions: the partition mounted at / has fsType '" + root->fs_type +
                         "'; an ISO's target needs ext2, ext3 or ext4 (" + why + " with resize2fs)");
  const PlannedPartition* esp = partition_at(layout, layout.esp_mount_point);
  return {root->index, root->fs_type, esp ? esp->index : 0};
}

std::string iso_image_path(const IsoRawImage& image) { return "images/" + image.gz_name; }

std::string iso_lockfile_path(const config::ImageTemplate& target) {
  return "config/" + output_base_name(target) + ".lock.json";
}

std::string iso_manifest(const config::ImageTemplate& target, const IsoDiskFacts& disk, const IsoRawImage& image,
                         const std::string& lockfile_sha256) {
  base::require(target.system_config.has_value(), "the template has no systemConfig");
  const std::string disk_path = target.disk ? target.disk->path.value_or("") : "";
  const nlohmann::ordered_json manifest = {
      {"format", 1},
      {"image",
       {{"path", iso_image_path(image)},
        {"compression", "gzip"},
        {"sha256", image.gz_sha256},
        {"size", image.gz_size},
        {"rawSha256", image.raw_sha256},
        {"rawSize", image.raw_size}}},
      {"rootPartition", disk.root_partition},
      {"rootFsType", disk.root_fs_type},
      {"espPartition", disk.esp_partition},
      {"diskPath", disk_path},
      {"hostname", image_hostname(*target.system_config)},
      {"lockfile", {{"path", iso_lockfile_path(target)}, {"sha256", lockfile_sha256}}},
      {"template", kIsoTemplatePath}};
  return manifest.dump(2) + "\n";
}

std::string iso_package_file_name(const LockedPackage& package, std::string_view suffix) {
  const std::string from_url = package.url.substr(package.url.find_last_of('/') + 1);
  const auto plain = [](const std::string& name) {
    return !name.empty() && name[0] != '.' && std::all_of(name.begin(), name.end(), [](unsigned char c) {
      return std::isalnum(c) != 0 || c == '.' || c == '-' || c == '_' || c == '+' || c == '~';
    });
  };
  if (from_url.ends_with(suffix) && plain(from_url)) return from_url;
  const std::string version = package.version.substr(package.version.find(':') + 1);
  const std::string made = package.name + "_" + version + "_" + package.architecture + std::string(suffix);
  base::require(plain(made), "package '" + package.name + "' has no file name an ISO's repository can use");
  return made;
}

bool iso_bios_boot(const std::string& arch, const fs::path& live_tree, const config::GrubNames& grub) {
  if (arch != "x86_64" || grub.bios_modules_dir.empty()) return false;
  // The stage reads the modules itself; a link here would only make it fail.
  std::error_code ec;
  return fs::is_directory(fs::symlink_status(live_tree / fs::path(grub.bios_modules_dir).relative_path(), ec));
}

PreparedRequest prepare_iso_request(const IsoJobInputs& in) {
  PreparedRequest p;
  // By path, each file bound read-only where it is: the tools the stage runs
  // (xorriso, mtools) take file names. No stage runs while the request is
  // made, so a file checked here is the file bound.
  const auto file = [&](const fs::path& path) {
    struct stat st {};
    base::check_syscall(::lstat(path.c_str(), &st), "inspect", path.string());
    base::require(S_ISREG(st.st_mode), "'" + path.string() + "' is not a regular file (a link is not followed)");
    p.mounts.read_only.push_back(path);
    return ipc::FdReference::of_path(path.string());
  };
  isomaker_client::IsoRequest request{.tree_dir = p.bind_dir(in.live_tree, false),
                                      .kernel = file(in.kernel),
                                      .initrd = file(in.initrd)};
  for (const auto& extra : in.extra_files) request.extra_files.push_back({file(extra.source), extra.iso_path});
  request.package_family = package_family(in.package_family);
  // By path, like the installer's: a repository has more packages than a request has fds.
  for (const fs::path& package : in.packages) request.packages.push_back(ipc::FdReference::of_path(package.string()));
  request.menu = {.title = in.title, .cmdline = in.cmdline};
  request.clamp_time = in.clamp_time;
  request.bios_boot = in.bios_boot;
  request.grub = {.mkimage = in_usr_bin(in.grub.mkimage),
                  .efi_modules_dir = in.grub.modules_dir,
                  .bios_modules_dir = in.grub.bios_modules_dir};
  request.output_dir = p.bind_dir(in.output_dir, true);
  request.output_name = in.output_name;
  if (!in.signed_shim.empty()) {
    request.secure_boot = {.shim = file(in.signed_shim), .loader = file(in.signed_loader)};
  }
  isomaker_client::encode(request, p.init_request().initIsomaker());
  p.mounts.read_only.push_back(in.packages_dir);
  return p;
}

PreparedRequest prepare_iso_loader_request(const IsoLoaderInputs& in) {
  PreparedRequest p;
  isomaker_client::LoaderRequest request{.tree_dir = p.bind_dir(in.live_tree, false),
                                         .grub = {.mkimage = in_usr_bin(in.grub.mkimage),
                                                  .efi_modules_dir = in.grub.modules_dir,
                                                  .bios_modules_dir = in.grub.bios_modules_dir},
                                         .menu = {.title = in.title, .cmdline = in.cmdline},
                                         .sbat = in.grub.sbat,
                                         .output_dir = p.bind_dir(in.output_dir, true),
                                         .output_name = in.output_name};
  isomaker_client::encode(request, p.init_request().initIsomaker());
  return p;
}

}  // namespace supervisor
