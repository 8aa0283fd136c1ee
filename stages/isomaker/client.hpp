// The supervisor's side of stage-isomaker's contract (isomaker.capnp): plain
// structs, encoded into the request the supervisor sends and decoded from the
// result it gets back. The mirror of the stage's own request decoding
// (isomaker_stage.hpp). Defaults are the schema's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipc/shared.hpp"
#include "stages/isomaker/isomaker.capnp.h"

namespace stage::isomaker::client {

using Compression = ipc::proto::MakeInitrdRequest::Compression;
using PackageFamily = ipc::proto::MakeIsoRequest::PackageFamily;

// A file the stage wrote into its output directory.
struct OutputFile {
  std::string name;  // file name inside outputDir
  std::string sha256;
  std::uint64_t size = 0;
};

struct InitrdRequest {
  ipc::FdReference tree_dir;                // bound read-only
  std::vector<std::string> excluded_paths;  // absolute, in the tree
  Compression compression = Compression::GZIP;
  std::int64_t clamp_time = -1;             // epoch seconds; -1 = as they are
  std::string kernel_path;                  // absolute, in the tree
  ipc::FdReference output_dir;              // writable
  std::string output_name;                  // no '/'
};

struct InitrdResult {
  OutputFile initrd;
  OutputFile kernel;
};

struct ExtraFile {
  ipc::FdReference source;
  std::string iso_path;  // absolute path on the medium
};

struct Menu {
  std::string title;
  std::string cmdline;
  std::uint32_t timeout_seconds = 5;
};

struct Grub {
  std::string mkimage = "/usr/bin/grub-mkimage";
  std::string efi_modules_dir = "/usr/lib/grub/x86_64-efi";
  std::string bios_modules_dir = "/usr/lib/grub/i386-pc";
};

// Secure Boot: the signed shim as the boot file, the signed loader beside it.
struct SecureBoot {
  std::optional<ipc::FdReference> shim;  // none = no Secure Boot
  ipc::FdReference loader;  // the signed GRUB of a LoaderRequest
};

struct IsoRequest {
  ipc::FdReference tree_dir;  // bound read-only
  ipc::FdReference kernel;    // -> /images/vmlinuz (signed with Secure Boot)
  ipc::FdReference initrd;    // -> /images/initrd.img
  std::vector<ExtraFile> extra_files;
  PackageFamily package_family = PackageFamily::NONE;
  std::vector<ipc::FdReference> packages;  // flat under /cache-repo
  Menu menu;
  std::string volume_id = "ICT_CDROM";
  std::int64_t clamp_time = -1;  // epoch seconds; -1 = now
  bool bios_boot = false;
  Grub grub;
  ipc::FdReference output_dir;  // writable
  std::string output_name;      // no '/'
  SecureBoot secure_boot;
};

struct IsoResult {
  OutputFile iso;
};

// The GRUB for Secure Boot, made before the ISO so the supervisor can sign it.
struct LoaderRequest {
  ipc::FdReference tree_dir;  // bound read-only
  Grub grub;
  Menu menu;
  std::string sbat;             // GRUB's SBAT CSV
  ipc::FdReference output_dir;  // writable
  std::string output_name;      // no '/'
};

struct LoaderResult {
  OutputFile loader;
};

void encode(const InitrdRequest& request, ipc::proto::IsomakerRequest::Builder out);
void encode(const IsoRequest& request, ipc::proto::IsomakerRequest::Builder out);
void encode(const LoaderRequest& request, ipc::proto::IsomakerRequest::Builder out);

// Throw base::Error (kFailed) when the result is not of the request's kind.
InitrdResult decode_initrd(ipc::proto::IsomakerResult::Reader result);
IsoResult decode_iso(ipc::proto::IsomakerResult::Reader result);
LoaderResult decode_loader(ipc::proto::IsomakerResult::Reader result);

}  // namespace stage::isomaker::client
