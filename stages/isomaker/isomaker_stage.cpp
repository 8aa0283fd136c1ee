#include "stages/isomaker/isomaker_stage.hpp"

#include <fcntl.h>
#include <signal.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

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

// A file named by path (the supervisor binds it there) or by slot (an fd of
// this process, which the tools see at the same /proc/self/fd path).
std::string file_path(ipc::proto::FdRef::Reader ref) {
  if (ref.getSlot() >= 0) return "/proc/self/fd/" + std::to_string(ref.getSlot());
  return ref.getPath();
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

IsoSpec decode_iso_request(MakeIsoRequest::Reader request) {
  IsoSpec spec;
  spec.kernel = file_path(request.getKernel());
  spec.initrd = file_path(request.getInitrd());
  for (const auto e : request.getExtraFiles()) spec.extra_files.push_back({file_path(e.getSource()), e.getIsoPath()});
  spec.package_family = family_of(request.getPackageFamily());
  for (const auto p : request.getPackages()) spec.packages.push_back(file_path(p));
  spec.menu = {request.getMenu().getTitle(), request.getMenu().getCmdline(), request.getMenu().getTimeoutSeconds()};
  spec.volume_id = request.getVolumeId();
  spec.clamp_time = request.getClampTime();
  spec.bios_boot = request.getBiosBoot();
  spec.grub = {request.getGrub().getMkimage(), request.getGrub().getEfiModulesDir(),
               request.getGrub().getBiosModulesDir()};
  spec.output_name = request.getOutputName();
  return spec;
}

void run_request(ipc::proto::StageRequest::Reader request, ipc::StageContext& context,
                 ipc::proto::StageResult::Builder result) {
  // A tool that exits early must give us EPIPE, not kill the stage.
  ::signal(SIGPIPE, SIG_IGN);
  (void)context;
  (void)result;
  const auto in = request.getIsomaker();
  base::fail(base::ErrorKind::kUnimplemented,
             in.isMakeInitrd() ? "stage-isomaker cannot make an initrd yet" : "stage-isomaker cannot make an ISO yet");
}

}  // namespace stage::isomaker
