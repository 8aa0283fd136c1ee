#include "stages/isomaker/isomaker_stage.hpp"

#include <fcntl.h>
#include <signal.h>

#include <filesystem>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "stages/isomaker/iso.hpp"
#include "stages/isomaker/output_files.hpp"

namespace stage::isomaker {
namespace {

using ipc::proto::MakeInitrdRequest;
using ipc::proto::MakeIsoRequest;

Compression compression_of(MakeInitrdRequest::Compression c) {
  switch (c) {
    case MakeInitrdRequest::Compression::GZIP: return Compression::kGzip;
    case MakeInitrdRequest::Compression::ZSTD: return Compression::kZstd;
    case MakeInitrdRequest::Compression::XZ: return Compression::kXz;
    case MakeInitrdRequest::Compression::NONE: return Compression::kNone;
  }
  base::fail(base::ErrorKind::kInvalidInput, "unknown initrd compression");
}

PackageFamily family_of(MakeIsoRequest::PackageFamily f) {
  switch (f) {
    case MakeIsoRequest::PackageFamily::NONE: return PackageFamily::kNone;
    case MakeIsoRequest::PackageFamily::DEB: return PackageFamily::kDeb;
    case MakeIsoRequest::PackageFamily::RPM: return PackageFamily::kRpm;
  }
  base::fail(base::ErrorKind::kInvalidInput, "unknown package family");
}

// xorriso and the indexers read MakeIso's files by name: a path bound into
// the stage, or for a slot the /proc/self/fd/N link `open_slot` gives.
std::string file_path(ipc::proto::FdRef::Reader ref, const std::string& what, const SlotOpener& open_slot) {
  if (ref.getSlot() >= 0) {
    base::require(static_cast<bool>(open_slot), "MakeIso's " + what + " is given by fd slot where only paths are read");
    return open_slot(ref, what);
  }
  base::require(ref.hasPath() && ref.getPath().size() > 0, "MakeIso's " + what + " names no file");
  return ref.getPath();
}

void fill_file(const WrittenFile& file, ipc::proto::OutputFile::Builder out) {
  out.setName(file.name);
  out.setSha256(file.sha256);
  out.setSize(file.size);
}

// The tools get real paths: a /proc/self/fd path would need the fd inherited.
std::string real_path(int fd) { return std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd)).string(); }

void run_initrd(MakeInitrdRequest::Reader in, ipc::StageContext& context,
                ipc::proto::MakeInitrdResult::Builder out) {
  const InitrdSpec spec = decode_initrd_request(in);
  check_initrd_spec(spec);
  const base::UniqueFd tree = context.open(in.getTreeDir(), O_RDONLY | O_DIRECTORY, "treeDir");
  const base::UniqueFd dir = context.open(in.getOutputDir(), O_RDONLY | O_DIRECTORY, "outputDir");
  PendingOutputs outputs(dir.get());
  context.progress({.phase = "initrd", .done = 0, .total = 2, .item = spec.output_name});
  const WrittenFile initrd = write_initrd(tree.get(), spec, outputs);
  base::require(spec.kernel_path.substr(spec.kernel_path.rfind('/') + 1) != spec.output_name,
                "the kernel's file name is the initrd's outputName '" + spec.output_name + "'");
  context.progress({.phase = "kernel", .done = 1, .total = 2, .item = spec.kernel_path});
  const WrittenFile kernel = copy_kernel(tree.get(), spec.kernel_path, outputs);
  outputs.commit();
  fill_file(initrd, out.initInitrd());
  fill_file(kernel, out.initKernel());
}

void run_iso(MakeIsoRequest::Reader in, ipc::StageContext& context, ipc::proto::MakeIsoResult::Builder out) {
  std::vector<base::UniqueFd> inputs;  // files given by slot, open while the tools run
  IsoSpec spec = decode_iso_request(in, [&](ipc::proto::FdRef::Reader ref, const std::string& what) {
    inputs.push_back(context.open(ref, O_RDONLY, what));
    return "/proc/self/fd/" + std::to_string(inputs.back().get());
  });
  for (const auto& fd : inputs) spec.input_fds.push_back(fd.get());
  check_iso_spec(spec);
  check_iso_programs(spec.package_family);
  const base::UniqueFd tree = context.open(in.getTreeDir(), O_RDONLY | O_DIRECTORY, "treeDir");
  const base::UniqueFd dir = context.open(in.getOutputDir(), O_RDONLY | O_DIRECTORY, "outputDir");
  PendingOutputs outputs(dir.get());
  context.progress({.phase = "iso", .done = 0, .total = 1, .item = spec.output_name});
  const WrittenFile iso = make_iso(spec, tree.get(), dir.get(), real_path(dir.get()), outputs);
  outputs.commit();
  fill_file(iso, out.initIso());
}

void run_loader(ipc::proto::MakeIsoLoaderRequest::Reader in, ipc::StageContext& context,
                ipc::proto::MakeIsoLoaderResult::Builder out) {
  const LoaderSpec spec = decode_loader_request(in);
  check_loader_spec(spec);
  const base::UniqueFd tree = context.open(in.getTreeDir(), O_RDONLY | O_DIRECTORY, "treeDir");
  const base::UniqueFd dir = context.open(in.getOutputDir(), O_RDONLY | O_DIRECTORY, "outputDir");
  PendingOutputs outputs(dir.get());
  context.progress({.phase = "loader", .done = 0, .total = 1, .item = spec.output_name});
  const WrittenFile loader = make_iso_loader(spec, tree.get(), dir.get(), real_path(dir.get()), outputs);
  outputs.commit();
  fill_file(loader, out.initLoader());
}

}  // namespace

InitrdSpec decode_initrd_request(MakeInitrdRequest::Reader request) {
  InitrdSpec spec;
  for (const auto p : request.getExcludedPaths()) spec.excluded_paths.emplace_back(p);
  spec.compression = compression_of(request.getCompression());
  spec.clamp_time = request.getClampTime();
  spec.kernel_path = request.getKernelPath();
  spec.output_name = request.getOutputName();
  return spec;
}

IsoSpec decode_iso_request(MakeIsoRequest::Reader request, const SlotOpener& open_slot) {
  IsoSpec spec;
  spec.kernel = file_path(request.getKernel(), "kernel", open_slot);
  spec.initrd = file_path(request.getInitrd(), "initrd", open_slot);
  for (const auto e : request.getExtraFiles()) {
    spec.extra_files.push_back({file_path(e.getSource(), "extra file " + std::string(e.getIsoPath()), open_slot),
                                e.getIsoPath()});
  }
  spec.package_family = family_of(request.getPackageFamily());
  for (const auto p : request.getPackages()) spec.packages.push_back(file_path(p, "package file", open_slot));
  spec.menu = {request.getMenu().getTitle(), request.getMenu().getCmdline(), request.getMenu().getTimeoutSeconds()};
  spec.volume_id = request.getVolumeId();
  spec.clamp_time = request.getClampTime();
  spec.bios_boot = request.getBiosBoot();
  spec.grub = {request.getGrub().getMkimage(), request.getGrub().getEfiModulesDir(),
               request.getGrub().getBiosModulesDir()};
  spec.output_name = request.getOutputName();
  if (request.hasSecureBoot()) {
    spec.secure_boot = {file_path(request.getSecureBoot().getShim(), "signed shim", open_slot),
                        file_path(request.getSecureBoot().getLoader(), "signed GRUB", open_slot)};
  }
  return spec;
}

LoaderSpec decode_loader_request(ipc::proto::MakeIsoLoaderRequest::Reader request) {
  LoaderSpec spec;
  spec.grub = {request.getGrub().getMkimage(), request.getGrub().getEfiModulesDir(),
               request.getGrub().getBiosModulesDir()};
  spec.menu = {request.getMenu().getTitle(), request.getMenu().getCmdline(), request.getMenu().getTimeoutSeconds()};
  spec.sbat = request.getSbat();
  spec.output_name = request.getOutputName();
  return spec;
}

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result) {
  // A tool that exits early must give us EPIPE, not kill the stage.
  ::signal(SIGPIPE, SIG_IGN);
  const auto in = request.getIsomaker();
  switch (in.which()) {
    case ipc::proto::IsomakerRequest::MAKE_INITRD:
      return run_initrd(in.getMakeInitrd(), context, result.initIsomaker().initMakeInitrd());
    case ipc::proto::IsomakerRequest::MAKE_ISO:
      return run_iso(in.getMakeIso(), context, result.initIsomaker().initMakeIso());
    case ipc::proto::IsomakerRequest::MAKE_ISO_LOADER:
      return run_loader(in.getMakeIsoLoader(), context, result.initIsomaker().initMakeIsoLoader());
  }
  base::fail(base::ErrorKind::kInvalidInput, "unknown isomaker request");
}

}  // namespace stage::isomaker
