// The isomaker client against the stage's own decoder: what the supervisor
// encodes is what stage-isomaker reads, and results decode by kind.
#include "stages/isomaker/client.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "stages/isomaker/isomaker_stage.hpp"

namespace stage::isomaker {
namespace {

TEST(IsomakerClient, InitrdRequestReachesTheStageDecoder) {
  client::InitrdRequest request;
  request.tree_dir = ipc::FdReference::of_path("/ws/live/root");
  request.excluded_paths = {"/boot", "/var/cache/apt"};
  request.compression = client::Compression::ZSTD;
  request.clamp_time = 1700000000;
  request.kernel_path = "/boot/vmlinuz-6.1.0-13-amd64";
  request.output_dir = ipc::FdReference::of_path("/ws/out", true);
  request.output_name = "live-1.0.img";
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::IsomakerRequest>();
  client::encode(request, builder);
  ASSERT_TRUE(builder.asReader().isMakeInitrd());
  const auto in = builder.asReader().getMakeInitrd();
  EXPECT_EQ(std::string(in.getTreeDir().getPath()), "/ws/live/root");
  EXPECT_TRUE(in.getOutputDir().getWritable());
  const InitrdSpec spec = decode_initrd_request(in);
  EXPECT_EQ(spec.excluded_paths, (std::vector<std::string>{"/boot", "/var/cache/apt"}));
  EXPECT_EQ(spec.compression, Compression::kZstd);
  EXPECT_EQ(spec.clamp_time, 1700000000);
  EXPECT_EQ(spec.kernel_path, "/boot/vmlinuz-6.1.0-13-amd64");
  EXPECT_EQ(spec.output_name, "live-1.0.img");
}

client::IsoRequest sample_iso_request() {
  client::IsoRequest request;
  request.tree_dir = ipc::FdReference::of_path("/ws/live/root");
  request.kernel = ipc::FdReference::of_path("/ws/live/vmlinuz-6.1.0-13-amd64");
  request.initrd = ipc::FdReference::of_path("/ws/live/live-1.0.img");
  request.extra_files = {{ipc::FdReference::of_path("/ws/manifest.json"), "/install/manifest.json"}};
  request.package_family = client::PackageFamily::DEB;
  request.packages = {ipc::FdReference::of_path("/cache/bash_5.2_amd64.deb")};
  request.menu = {"Install Debian 12", "console=ttyS0 quiet", 3};
  request.clamp_time = 1700000000;
  request.bios_boot = true;
  request.grub.mkimage = "/usr/bin/grub2-mkimage";
  request.output_dir = ipc::FdReference::of_path("/ws/out", true);
  request.output_name = "x-1.0.iso";
  return request;
}

TEST(IsomakerClient, IsoRequestReachesTheStageDecoder) {
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::IsomakerRequest>();
  client::encode(sample_iso_request(), builder);
  ASSERT_TRUE(builder.asReader().isMakeIso());
  const IsoSpec spec = decode_iso_request(builder.asReader().getMakeIso());
  EXPECT_EQ(spec.kernel, "/ws/live/vmlinuz-6.1.0-13-amd64");
  EXPECT_EQ(spec.initrd, "/ws/live/live-1.0.img");
  ASSERT_EQ(spec.extra_files.size(), 1u);
  EXPECT_EQ(spec.extra_files[0].source, "/ws/manifest.json");
  EXPECT_EQ(spec.extra_files[0].iso_path, "/install/manifest.json");
  EXPECT_EQ(spec.package_family, PackageFamily::kDeb);
  EXPECT_EQ(spec.packages, (std::vector<std::string>{"/cache/bash_5.2_amd64.deb"}));
  EXPECT_EQ(spec.menu.title, "Install Debian 12");
  EXPECT_EQ(spec.menu.cmdline, "console=ttyS0 quiet");
  EXPECT_EQ(spec.menu.timeout_seconds, 3u);
  EXPECT_EQ(spec.volume_id, "ICT_CDROM");
  EXPECT_EQ(spec.clamp_time, 1700000000);
  EXPECT_TRUE(spec.bios_boot);
  EXPECT_EQ(spec.grub.mkimage, "/usr/bin/grub2-mkimage");
  EXPECT_EQ(spec.grub.efi_modules_dir, "/usr/lib/grub/x86_64-efi");
  EXPECT_EQ(spec.grub.bios_modules_dir, "/usr/lib/grub/i386-pc");
  EXPECT_EQ(spec.output_name, "x-1.0.iso");
  EXPECT_TRUE(spec.secure_boot.shim.empty()) << "no Secure Boot unless asked";
}

// Secure Boot: the signed shim and the signed loader reach the stage; the
// loader request carries the menu and the SBAT.
TEST(IsomakerClient, SecureBootAndLoaderRequestsReachTheStageDecoder) {
  client::IsoRequest request = sample_iso_request();
  request.secure_boot = {ipc::FdReference::of_path("/ws/iso-efi/medium/BOOTX64.EFI"),
                         ipc::FdReference::of_path("/ws/iso-efi/medium/grubx64.efi")};
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::IsomakerRequest>();
  client::encode(request, builder);
  const IsoSpec spec = decode_iso_request(builder.asReader().getMakeIso());
  EXPECT_EQ(spec.secure_boot.shim, "/ws/iso-efi/medium/BOOTX64.EFI");
  EXPECT_EQ(spec.secure_boot.loader, "/ws/iso-efi/medium/grubx64.efi");

  const client::LoaderRequest loader{ipc::FdReference::of_path("/ws/live/root"),
                                     {.mkimage = "/usr/bin/grub-mkimage"},
                                     {"Install Debian 12", "console=ttyS0", 3},
                                     "sbat,1,SBAT Version\n",
                                     ipc::FdReference::of_path("/ws/loader", true),
                                     "grubx64.efi"};
  capnp::MallocMessageBuilder loader_message;
  auto loader_builder = loader_message.initRoot<ipc::proto::IsomakerRequest>();
  client::encode(loader, loader_builder);
  ASSERT_TRUE(loader_builder.asReader().isMakeIsoLoader());
  const LoaderSpec decoded = decode_loader_request(loader_builder.asReader().getMakeIsoLoader());
  EXPECT_EQ(decoded.grub.mkimage, "/usr/bin/grub-mkimage");
  EXPECT_EQ(decoded.grub.efi_modules_dir, "/usr/lib/grub/x86_64-efi");
  EXPECT_EQ(decoded.menu.title, "Install Debian 12");
  EXPECT_EQ(decoded.menu.timeout_seconds, 3u);
  EXPECT_EQ(decoded.sbat, "sbat,1,SBAT Version\n");
  EXPECT_EQ(decoded.output_name, "grubx64.efi");
}

// A file given by slot is named by the fd the stage opened for it; without
// its fds (a decoder alone) a slot is refused.
TEST(IsomakerClient, IsoFilesGivenBySlotAreNamedByTheirFd) {
  client::IsoRequest request = sample_iso_request();
  request.initrd = ipc::FdReference::of_slot(2);
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::IsomakerRequest>();
  client::encode(request, builder);
  const auto in = builder.asReader().getMakeIso();
  const IsoSpec spec = decode_iso_request(in, [](ipc::proto::FdRef::Reader ref, const std::string& what) {
    EXPECT_EQ(what, "initrd");
    return "/proc/self/fd/" + std::to_string(ref.getSlot() + 10);
  });
  EXPECT_EQ(spec.initrd, "/proc/self/fd/12");
  EXPECT_EQ(spec.kernel, "/ws/live/vmlinuz-6.1.0-13-amd64");
  try {
    decode_iso_request(in);
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_EQ(e.kind(), base::ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("initrd is given by fd slot"), std::string::npos) << e.what();
  }
}

TEST(IsomakerClient, ResultsDecodeByKind) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::IsomakerResult>();
  auto initrd = result.initMakeInitrd();
  initrd.initInitrd().setName("live-1.0.img");
  initrd.getInitrd().setSha256(std::string(64, 'a'));
  initrd.getInitrd().setSize(1234);
  initrd.initKernel().setName("vmlinuz-6.1.0-13-amd64");
  const client::InitrdResult decoded = client::decode_initrd(result.asReader());
  EXPECT_EQ(decoded.initrd.name, "live-1.0.img");
  EXPECT_EQ(decoded.initrd.sha256, std::string(64, 'a'));
  EXPECT_EQ(decoded.initrd.size, 1234u);
  EXPECT_EQ(decoded.kernel.name, "vmlinuz-6.1.0-13-amd64");
  EXPECT_THROW(client::decode_iso(result.asReader()), base::Error);
  result.initMakeIso().initIso().setSize(4096);
  EXPECT_EQ(client::decode_iso(result.asReader()).iso.size, 4096u);
  EXPECT_THROW(client::decode_initrd(result.asReader()), base::Error);
  EXPECT_THROW(client::decode_loader(result.asReader()), base::Error);
  result.initMakeIsoLoader().initLoader().setName("grubx64.efi");
  EXPECT_EQ(client::decode_loader(result.asReader()).loader.name, "grubx64.efi");
}

}  // namespace
}  // namespace stage::isomaker
