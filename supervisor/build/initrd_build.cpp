#include "supervisor/build/initrd_build.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>

#include "base/error.hpp"
#include "stages/isomaker/client.hpp"
#include "supervisor/build/archive_checks.hpp"
#include "supervisor/build/reproducible.hpp"
#include "supervisor/cache/digest.hpp"
#include "supervisor/stage/stage_table.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
namespace isomaker_client = stage::isomaker::client;

// The bootloader section is for a disk; an initrd has none. Said once, not dropped silently.
void note_unused_bootloader(const config::ImageTemplate& image, Logger& log) {
  if (image.system_config && image.system_config->bootloader) {
    log.info("systemConfig.bootloader does not apply to an initrd image (it has no disk); it is not used");
  }
}

void record_initrd(const isomaker_client::InitrdResult& result, const fs::path& output_dir, ImageResults& out) {
  for (const auto& [file, type] : {std::pair{&result.initrd, "img"}, std::pair{&result.kernel, "kernel"}}) {
    // Only the file name is taken from the stage; the directory is ours.
    const fs::path name = fs::path(file->name).filename();
    base::require(!name.empty() && name != "." && name != ".." && name == fs::path(file->name),
                 "make-initrd: bad output file name '" + file->name + "'");
    out.artifacts.push_back({output_dir / name, type, file->sha256, file->size});
  }
}

isomaker_client::Compression compression_of(const std::string& name) {
  using C = isomaker_client::Compression;
  for (const auto& [known, value] : {std::pair{"gzip", C::GZIP}, std::pair{"zstd", C::ZSTD}, std::pair{"xz", C::XZ},
                                     std::pair{"none", C::NONE}}) {
    if (name == known) return value;
  }
  throw base::Error(base::ErrorKind::kInvalidInput,
                    "initrdCompression '" + name + "' is not gzip, zstd, xz or none (provider config.yml)");
}

// The installer names the kernel and the initramfs; both must be plain files
// of /boot, whatever it reported.
void require_boot_file(const std::string& path, const char* what) {
  const fs::path p(path);
  base::require(p.parent_path() == "boot" && p.has_filename() && p.filename() != "." && p.filename() != "..",
               std::string("Failed to make the initrd: the installer named ") + what + " '" + path +
                   "', not a file of /boot");
}

StageJob make_initrd_job(const InstallInputs& install, const std::string& after, ImageResults& out) {
  const fs::path output_dir = install.output_dir;
  const fs::path tree = install.root_dir;
  const std::string name = output_base_name(install.image) + ".img";
  const std::int64_t clamp = install.source_date_epoch;  // initrd_jobs sets it
  return StageJob{
      .name = "make-initrd",
      .kind = ipc::proto::StageKind::ISOMAKER,
      .after = {after},
      // Prepared once the install job has named the kernel.
      .prepare = [tree, output_dir, name, clamp, compression = install.facts.initrd_compression, &out] {
        return prepare_initrd_request({.tree = tree, .output_dir = output_dir, .output_name = name,
                                       .kernel_path = out.kernel_path, .initrd_path = out.initrd_path,
                                       .clamp_time = clamp, .compression = compression});
      },
      .on_success = [output_dir, &out](const StageOutcome& outcome) {
        record_initrd(isomaker_client::decode_initrd(outcome.result_reader().getIsomaker()), output_dir, out);
      },
      .timeout = stage_info(ipc::proto::StageKind::ISOMAKER).default_timeout,
  };
}

}  // namespace

PreparedRequest prepare_initrd_request(const InitrdJobInputs& in) {
  if (in.kernel_path.empty()) {
    throw base::Error(base::ErrorKind::kInvalidInput, "Failed to make the initrd: the image has no kernel (/boot/vmlinuz-*)")
        .with_hint("add the distribution's kernel package to the template's systemConfig.kernel.packages");
  }
  require_boot_file(in.kernel_path, "the kernel");
  if (!in.initrd_path.empty()) require_boot_file(in.initrd_path, "the initramfs");
  PreparedRequest p;
  isomaker_client::InitrdRequest request{.tree_dir = p.bind_dir(in.tree, false),
                                         .excluded_paths = {"/" + in.kernel_path},
                                         .compression = compression_of(in.compression),
                                         .clamp_time = in.clamp_time,
                                         .kernel_path = "/" + in.kernel_path,
                                         .output_dir = p.bind_dir(in.output_dir, true),
                                         .output_name = in.output_name};
  struct stat st {};
  if (!in.initrd_path.empty() && ::lstat((in.tree / in.initrd_path).c_str(), &st) == 0) {
    request.excluded_paths.push_back("/" + in.initrd_path);
  }
  isomaker_client::encode(request, p.init_request().initIsomaker());
  return p;
}

std::vector<StageJob> initrd_jobs(const InstallInputs& inputs, std::function<void()> on_saved, ImageResults& out) {
  // The cpio's clamp time is also the installer's SOURCE_DATE_EPOCH, so the
  // SBOM in the tree is the same for the same lockfile.
  InstallInputs install = inputs;
  install.source_date_epoch = build_time(install.lock, std::getenv("SOURCE_DATE_EPOCH"));
  std::vector<StageJob> jobs = install_jobs(install, "", std::move(on_saved), out);
  jobs.push_back(make_initrd_job(install, configure_job_name(install), out));
  return jobs;
}

void add_initrd_jobs(Orchestrator& run, const InstallInputs& install, std::function<void()> on_saved,
                     ImageResults& out) {
  for (StageJob& job : initrd_jobs(install, std::move(on_saved), out)) run.add(std::move(job));
}

ImageSteps initrd_steps() {
  return {{ipc::proto::StageKind::INSTALLER, ipc::proto::StageKind::ISOMAKER}, DiskLayout{}, add_initrd_jobs};
}

int run_initrd_build(const BuildRequest& request, Logger& log) {
  note_unused_bootloader(request.image, log);
  return run_image_build(request, initrd_steps(), log);
}

InitrdImage build_initrd(const BuildRequest& request, const config::ProviderData& provider, PackageCache& cache,
                         const fs::path& workspace, ProgressReporter& progress, Logger& log) {
  base::require(is_initrd_image(request.image), "the live environment's template must have imageType img");
  note_unused_bootloader(request.image, log);
  const PackageFamily& family = family_for(provider);
  const PipelineOptions options{.workspace = workspace,
                                .workers = static_cast<std::uint32_t>(request.global.workers),
                                .cache = &cache,
                                .package_keys = family.package_keys(provider, request.image)};
  Orchestrator resolution_run(orchestrator_options(request.global, request.keep_requests), progress);
  Orchestrator package_run(orchestrator_options(request.global, request.keep_requests), progress);
  Orchestrator image_run(orchestrator_options(request.global, request.keep_requests), progress);
  InitrdImage image;
  image.lock = lock_for(request.image, request.lockfile, std::nullopt, provider, resolution_run, options, log);
  const PackageFiles files = fetch_packages(package_run, family, image.lock, cache, options, log);
  check_archives(package_run, image.lock, cache, files, log);
  const ImageResults results =
      make_image(image_run, request, provider, image.lock, files, cache, workspace, DiskLayout{}, add_initrd_jobs, log);
  progress.timing_table(timing_rows({&resolution_run, &package_run, &image_run}));
  for (const auto& artifact : results.artifacts) {
    (artifact.type == "img" ? image.initrd : image.kernel) = artifact.path;
    (artifact.type == "img" ? image.initrd_sha256 : image.kernel_sha256) = artifact.sha256;
  }
  image.kernel_version = results.kernel_version;
  image.sbom = results.sbom_path;
  image.root_dir = workspace / "root";
  return image;
}

}  // namespace supervisor
