// `imageType: img` (docs/image-build.md, "Initrd images"): the template's OS
// installed as for a raw image, but with no boot loader, initramfs, fstab or
// ESP, then packed by stage-isomaker's make-initrd job as a newc cpio beside
// its kernel:
//
//   lock -> fetch -> install -> make-initrd -> publish
//
// `<name>-<version>.img`, `vmlinuz-<kver>`, the SBOM, lockfile and merged
// template. The ISO flow builds its live environment with build_initrd.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/provider.hpp"
#include "supervisor/build/build.hpp"
#include "supervisor/build/build_steps.hpp"
#include "supervisor/build/image_jobs.hpp"
#include "supervisor/build/lockfile.hpp"
#include "supervisor/cache/package_cache.hpp"
#include "supervisor/log.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/stage/progress.hpp"

namespace supervisor {

// What the make-initrd request is made of; host paths.
struct InitrdJobInputs {
  std::filesystem::path tree;        // the installed root, bound read-only
  std::filesystem::path output_dir;  // bound read-write
  std::string output_name;           // "<name>-<version>.img"
  std::string kernel_path;           // in the tree: "boot/vmlinuz-<kver>"
  std::string initrd_path;           // in the tree: the distribution's initramfs, left out when present
  std::int64_t clamp_time = -1;
  std::string compression = "gzip";  // the provider's initrdCompression: gzip, zstd, xz or none
};

// The cpio leaves out the kernel (copied beside it) and an initramfs the
// packages may have made in /boot (the image is one).
PreparedRequest prepare_initrd_request(const InitrdJobInputs& in);

// install (initramfs and boot loader "none") -> make-initrd; `out` gets the
// .img and the kernel as artifacts. initrd_jobs returns them, in order.
std::vector<StageJob> initrd_jobs(const InstallInputs& install, std::function<void()> on_saved, ImageResults& out);
void add_initrd_jobs(Orchestrator& run, const InstallInputs& install, std::function<void()> on_saved,
                     ImageResults& out);

// The stages and jobs of an initrd image (no disk layout).
ImageSteps initrd_steps();

// `build` of an `imageType: img` template.
int run_initrd_build(const BuildRequest& request, Logger& log);

// An initrd made into a workspace, not published.
struct InitrdImage {
  std::filesystem::path initrd;  // <workspace>/out/<name>-<version>.img
  std::string initrd_sha256;
  std::filesystem::path kernel;  // <workspace>/out/vmlinuz-<kver>
  std::string kernel_sha256;
  std::string kernel_version;
  std::filesystem::path sbom;      // <workspace>/out/<name>-<version>.spdx.json
  std::filesystem::path root_dir;  // <workspace>/root, the installed tree
  Lockfile lock;
};

// lock (or `request.lockfile`) -> fetch -> install -> make-initrd of the
// merged template `request.image` (imageType img) into `workspace`, which
// must exist; the ISO flow's live environment.
InitrdImage build_initrd(const BuildRequest& request, const config::ProviderData& provider, PackageCache& cache,
                         const std::filesystem::path& workspace, ProgressReporter& progress, Logger& log);

}  // namespace supervisor
