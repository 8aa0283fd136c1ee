// The steps every image build shares, whatever the image is made of once
// its packages are verified: provider, lockfile, package fetch, the
// installer's build environment, the build record and the published outputs
// (docs/image-build.md). Defined in build.cpp; initrd_build.cpp and
// iso_build.cpp put them together too.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/provider.hpp"
#include "config/template.hpp"
#include "supervisor/build/build.hpp"
#include "supervisor/build/disk_layout.hpp"
#include "supervisor/build/image_jobs.hpp"
#include "supervisor/build/image_record.hpp"
#include "supervisor/build/lockfile.hpp"
#include "supervisor/build/outputs.hpp"
#include "supervisor/build/package_fetch.hpp"
#include "supervisor/build/workspace.hpp"
#include "supervisor/cache/package_cache.hpp"
#include "supervisor/family.hpp"
#include "supervisor/log.hpp"
#include "supervisor/stage/orchestrator.hpp"
#include "supervisor/stage/progress.hpp"

namespace supervisor {

// target.imageType: raw disk, initrd (img) or ISO.
enum class ImageKind { kRaw, kInitrd, kIso };
ImageKind image_kind(const config::ImageTemplate& image);

config::ProviderData load_provider_for(const config::ImageTemplate& image, const config::GlobalConfig& global);
OrchestratorOptions orchestrator_options(const config::GlobalConfig& global,
                                         const std::optional<std::filesystem::path>& keep_requests);
std::vector<ProgressReporter::TimingRow> timing_rows(const std::vector<const Orchestrator*>& runs);
void log_warnings(const std::vector<std::string>& warnings, Logger& log);

// The package set: pinned by `lockfile`, else resolved now (with the DOT
// graph written to `dotfile` when asked).
Lockfile lock_for(const config::ImageTemplate& image, const std::optional<std::filesystem::path>& lockfile,
                  const std::optional<std::filesystem::path>& dotfile, const config::ProviderData& provider,
                  Orchestrator& run, const PipelineOptions& options, Logger& log);

// Every package of `lock` verified in `cache` (downloaded where missing).
PackageFiles fetch_packages(Orchestrator& run, const PackageFamily& family, const Lockfile& lock, PackageCache& cache,
                            const PipelineOptions& options, Logger& log);

void create_dir(const std::filesystem::path& dir);

// The jobs that make the image from the install inputs: install -> make-disk
// (add_image_jobs) or install -> make-initrd (initrd_build.hpp).
using ImageJobsAdder =
    std::function<void(Orchestrator&, const InstallInputs&, std::function<void()> on_saved, ImageResults&)>;

// install -> the image's own jobs, in <workspace>/root and <workspace>/out,
// with the build environment cached by package set.
ImageResults make_image(Orchestrator& run, const BuildRequest& request, const config::ProviderData& provider,
                        const Lockfile& lock, const PackageFiles& files, PackageCache& cache,
                        const std::filesystem::path& workspace, const DiskLayout& layout,
                        const ImageJobsAdder& add_jobs, Logger& log);
// install -> make-disk.
ImageResults make_image(Orchestrator& run, const BuildRequest& request, const config::ProviderData& provider,
                        const Lockfile& lock, const PackageFiles& files, PackageCache& cache,
                        const Workspace& workspace, const DiskLayout& layout, Logger& log);

// The programs that make an image: this CLI and `stages`. A stage that cannot
// be found counts as changed; the build reports it when it runs.
std::vector<std::filesystem::path> image_programs(
    const std::vector<ipc::proto::StageKind>& stages = {ipc::proto::StageKind::INSTALLER,
                                                        ipc::proto::StageKind::DISKMAKER});
void report_outputs(ProgressReporter& progress, const std::vector<PublishedFile>& published);
// With the request's signing key: SHA256SUMS beside `published` signed by
// stage-signer into SHA256SUMS.asc (output_signature.hpp); without, nothing.
void sign_outputs(const BuildRequest& request, ProgressReporter& progress, const std::vector<PublishedFile>& published,
                  Logger& log);

// Publishes `files` (the stages' outputs), the SBOM at `sbom_path` when the
// installer wrote one, the lockfile and the merged template into the
// template's output directory, with the build record of `digest`.
std::vector<PublishedFile> publish_image_outputs(const BuildRequest& request, const config::ProviderData& provider,
                                                 std::vector<OutputFile> files, const std::filesystem::path& sbom_path,
                                                 const Lockfile& lock, const InputDigest& digest, Logger& log);

// What --output-names' reference scheme names the files of `request` from;
// the SBOM's time is the build's (given_build_time of `lock`, reproducible.hpp),
// else now. Without a lock (only to name the lockfile) it is now.
NamingFacts naming_facts(const BuildRequest& request, const config::ProviderData& provider, const Lockfile* lock);

// Unless --rebuild: true when the outputs in `output_dir` were made from
// `digest` and named by the request's --output-names; they are then reported (after `report_timings`) and nothing is
// built. Otherwise logs why the build goes ahead.
bool hand_back_outputs(const BuildRequest& request, const config::ProviderData& provider,
                       const std::filesystem::path& output_dir, const Lockfile& lock,
                       const InputDigest& digest, ProgressReporter& progress, Logger& log,
                       const std::function<void()>& report_timings);

// How one kind of image is made once its packages are verified.
struct ImageSteps {
  std::vector<ipc::proto::StageKind> stages;  // the stage programs that make it (build record)
  DiskLayout layout;                          // empty for an image without a disk
  ImageJobsAdder add_jobs;
  // The disk planned again with the build's identifiers (reproducible.hpp)
  // once the lockfile is known; unset for an image without a disk.
  std::function<DiskLayout(const UuidSource&)> plan_layout;
};

// lock -> fetch -> make_image -> publish, with the up-to-date check of the
// build record (image_record.hpp): `build` of raw and initrd images.
int run_image_build(const BuildRequest& request, const ImageSteps& steps, Logger& log);

}  // namespace supervisor
