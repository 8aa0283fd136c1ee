#include "stages/isomaker/client.hpp"

#include "base/error.hpp"

namespace stage::isomaker::client {
namespace {

OutputFile decode_file(ipc::proto::OutputFile::Reader in) { return {in.getName(), in.getSha256(), in.getSize()}; }

void encode_menu(const Menu& menu, ipc::proto::MakeIsoRequest::Menu::Builder out) {
  out.setTitle(menu.title);
  out.setCmdline(menu.cmdline);
  out.setTimeoutSeconds(menu.timeout_seconds);
}

void encode_grub(const Grub& grub, ipc::proto::MakeIsoRequest::Grub::Builder out) {
  out.setMkimage(grub.mkimage);
  out.setEfiModulesDir(grub.efi_modules_dir);
  out.setBiosModulesDir(grub.bios_modules_dir);
}

}  // namespace

void encode(const InitrdRequest& request, ipc::proto::IsomakerRequest::Builder out) {
  auto in = out.initMakeInitrd();
  request.tree_dir.encode(in.initTreeDir());
  ipc::copy_texts(request.excluded_paths, in.initExcludedPaths(static_cast<unsigned>(request.excluded_paths.size())));
  in.setCompression(request.compression);
  in.setClampTime(request.clamp_time);
  in.setKernelPath(request.kernel_path);
  request.output_dir.encode(in.initOutputDir());
  in.setOutputName(request.output_name);
}

void encode(const IsoRequest& request, ipc::proto::IsomakerRequest::Builder out) {
  auto in = out.initMakeIso();
  request.tree_dir.encode(in.initTreeDir());
  request.kernel.encode(in.initKernel());
  request.initrd.encode(in.initInitrd());
  auto extras = in.initExtraFiles(static_cast<unsigned>(request.extra_files.size()));
  for (unsigned i = 0; i < extras.size(); ++i) {
    request.extra_files[i].source.encode(extras[i].initSource());
    extras[i].setIsoPath(request.extra_files[i].iso_path);
  }
  in.setPackageFamily(request.package_family);
  auto packages = in.initPackages(static_cast<unsigned>(request.packages.size()));
  for (unsigned i = 0; i < packages.size(); ++i) request.packages[i].encode(packages[i]);
  encode_menu(request.menu, in.initMenu());
  in.setVolumeId(request.volume_id);
  in.setClampTime(request.clamp_time);
  in.setBiosBoot(request.bios_boot);
  encode_grub(request.grub, in.initGrub());
  request.output_dir.encode(in.initOutputDir());
  in.setOutputName(request.output_name);
  if (request.secure_boot.shim) {
    auto secure_boot = in.initSecureBoot();
    request.secure_boot.shim->encode(secure_boot.initShim());
    request.secure_boot.loader.encode(secure_boot.initLoader());
  }
}

void encode(const LoaderRequest& request, ipc::proto::IsomakerRequest::Builder out) {
  auto in = out.initMakeIsoLoader();
  request.tree_dir.encode(in.initTreeDir());
  encode_grub(request.grub, in.initGrub());
  encode_menu(request.menu, in.initMenu());
  in.setSbat(request.sbat);
  request.output_dir.encode(in.initOutputDir());
  in.setOutputName(request.output_name);
}

InitrdResult decode_initrd(ipc::proto::IsomakerResult::Reader result) {
  base::check(result.isMakeInitrd(), "stage-isomaker answered a MakeInitrd request with another result");
  const auto in = result.getMakeInitrd();
  return {decode_file(in.getInitrd()), decode_file(in.getKernel())};
}

IsoResult decode_iso(ipc::proto::IsomakerResult::Reader result) {
  base::check(result.isMakeIso(), "stage-isomaker answered a MakeIso request with another result");
  return {decode_file(result.getMakeIso().getIso())};
}

LoaderResult decode_loader(ipc::proto::IsomakerResult::Reader result) {
  base::check(result.isMakeIsoLoader(), "stage-isomaker answered a MakeIsoLoader request with another result");
  return {decode_file(result.getMakeIsoLoader().getLoader())};
}

}  // namespace stage::isomaker::client
