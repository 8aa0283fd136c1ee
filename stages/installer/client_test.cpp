// The installer client: what the supervisor encodes is what the request
// carries field by field, and a result reads back as the stage wrote it.
#include "stages/installer/client.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace stage::installer {
namespace {

using ipc::FdReference;

std::string text(capnp::Text::Reader t) { return t.cStr(); }

client::Request sample_request() {
  client::Request r;
  r.packages = {{FdReference::of_path("/cache/dash.deb"), "dash", "0.5", "amd64", true, {"libc6"}, "h", 12,
                 "https://example.invalid/dash.deb", "main"}};
  r.root_dir = FdReference::of_path("/ws/root", true);
  r.hostname = "box";
  r.users = {{"ann", "$6$x", 1001, {"adm"}, "/bin/sh", "/home/ann", true, {"ssh-ed25519 K"}, "/root/start"}};
  r.additional_files = {{FdReference::of_slot(0), "/etc/motd", 0755}};
  r.commands = {std::string("echo hi"), std::vector<std::string>{"true", "x"}};
  r.fstab = {{"UUID=1", "/", "ext4", "defaults", 0, 1}};
  r.kernel_cmdline = "quiet";
  r.initramfs_tool = "dracut";
  r.sbom = client::Sbom{true, "img.spdx.json", "img", "1.0", "debian-12", "deb"};
  r.output_dir = FdReference::of_path("/ws/out", true);
  r.build_env = {client::BuildEnvMode::REUSE, FdReference::of_path("/cache/env")};
  r.bootloader = ipc::Bootloader{"efi", "systemd-boot"};
  r.uki = true;
  r.root_fs_uuid = "r";
  r.boot_fs_uuid = "b";
  r.esp_mount_point = "/boot/efi";
  r.sudo_group = "wheel";
  r.initrd_file_name = "initramfs-{kver}.img";
  r.grub = client::Grub{"grub2-mkstandalone", "/usr/lib/grub/x86_64-efi", "/boot/grub2", "grub2", "grub2-efi"};
  r.verity = client::Verity{"0fc63daf-8483-4772-8e79-3d69d8477de4", "77ff5f63-e7b6-4633-acf4-1565b864c0e6"};
  return r;
}

TEST(InstallerClient, RequestCarriesEveryField) {
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::InstallerRequest>();
  client::encode(sample_request(), builder);
  const auto r = builder.asReader();
  ASSERT_EQ(r.getPackages().size(), 1u);
  const auto p = r.getPackages()[0];
  EXPECT_EQ(FdReference::decode(p.getFile()), FdReference::of_path("/cache/dash.deb"));
  EXPECT_EQ(text(p.getName()), "dash");
  EXPECT_EQ(text(p.getVersion()), "0.5");
  EXPECT_EQ(text(p.getArchitecture()), "amd64");
  EXPECT_TRUE(p.getDeb().getEssential());
  ASSERT_EQ(p.getDeb().getPreDepends().size(), 1u);
  EXPECT_EQ(text(p.getDeb().getPreDepends()[0]), "libc6");
  EXPECT_EQ(text(p.getSha256()), "h");
  EXPECT_EQ(p.getSize(), 12u);
  EXPECT_EQ(text(p.getDownloadUrl()), "https://example.invalid/dash.deb");
  EXPECT_EQ(text(p.getRepository()), "main");
  EXPECT_EQ(FdReference::decode(r.getRootDir()), FdReference::of_path("/ws/root", true));
  EXPECT_EQ(text(r.getHostname()), "box");
  ASSERT_EQ(r.getUsers().size(), 1u);
  const auto u = r.getUsers()[0];
  EXPECT_EQ(text(u.getName()), "ann");
  EXPECT_EQ(text(u.getPasswordHash()), "$6$x");
  EXPECT_EQ(u.getUid(), 1001);
  ASSERT_EQ(u.getGroups().size(), 1u);
  EXPECT_EQ(text(u.getGroups()[0]), "adm");
  EXPECT_EQ(text(u.getShell()), "/bin/sh");
  EXPECT_EQ(text(u.getHome()), "/home/ann");
  EXPECT_TRUE(u.getSudo());
  ASSERT_EQ(u.getSshAuthorizedKeys().size(), 1u);
  EXPECT_EQ(text(u.getSshAuthorizedKeys()[0]), "ssh-ed25519 K");
  EXPECT_EQ(text(u.getStartupScript()), "/root/start");
  ASSERT_EQ(r.getAdditionalFiles().size(), 1u);
  EXPECT_EQ(r.getAdditionalFiles()[0].getSource().getSlot(), 0);
  EXPECT_EQ(text(r.getAdditionalFiles()[0].getDestination()), "/etc/motd");
  EXPECT_EQ(r.getAdditionalFiles()[0].getMode(), 0755u);
  ASSERT_EQ(r.getCommands().size(), 2u);
  ASSERT_TRUE(r.getCommands()[0].isScript());
  EXPECT_EQ(text(r.getCommands()[0].getScript()), "echo hi");
  ASSERT_TRUE(r.getCommands()[1].isArgv());
  EXPECT_EQ(text(r.getCommands()[1].getArgv()[1]), "x");
  ASSERT_EQ(r.getFstab().size(), 1u);
  const auto f = r.getFstab()[0];
  EXPECT_EQ(text(f.getSpec()), "UUID=1");
  EXPECT_EQ(text(f.getMountPoint()), "/");
  EXPECT_EQ(text(f.getFsType()), "ext4");
  EXPECT_EQ(text(f.getOptions()), "defaults");
  EXPECT_EQ(f.getDump(), 0u);
  EXPECT_EQ(f.getPass(), 1u);
  EXPECT_EQ(text(r.getKernelCmdline()), "quiet");
  EXPECT_EQ(text(r.getInitramfsTool()), "dracut");
  const auto sbom = r.getSbom();
  EXPECT_TRUE(sbom.getEnabled());
  EXPECT_EQ(text(sbom.getFileName()), "img.spdx.json");
  EXPECT_EQ(text(sbom.getImageName()), "img");
  EXPECT_EQ(text(sbom.getImageVersion()), "1.0");
  EXPECT_EQ(text(sbom.getDistribution()), "debian-12");
  EXPECT_EQ(text(sbom.getPurlType()), "deb");
  EXPECT_EQ(FdReference::decode(r.getOutputDir()), FdReference::of_path("/ws/out", true));
  EXPECT_EQ(r.getBuildEnv().getMode(), client::BuildEnvMode::REUSE);
  EXPECT_EQ(FdReference::decode(r.getBuildEnv().getDir()), FdReference::of_path("/cache/env"));
  EXPECT_EQ(ipc::Bootloader::decode(r.getBootloader()), (ipc::Bootloader{"efi", "systemd-boot"}));
  EXPECT_TRUE(r.getUki());
  EXPECT_EQ(text(r.getRootFsUuid()), "r");
  EXPECT_EQ(text(r.getBootFsUuid()), "b");
  EXPECT_EQ(text(r.getEspMountPoint()), "/boot/efi");
  EXPECT_EQ(text(r.getSudoGroup()), "wheel");
  EXPECT_EQ(text(r.getInitrdFileName()), "initramfs-{kver}.img");
  const auto grub = r.getGrub();
  EXPECT_EQ(text(grub.getMkstandalone()), "grub2-mkstandalone");
  EXPECT_EQ(text(grub.getModulesDir()), "/usr/lib/grub/x86_64-efi");
  EXPECT_EQ(text(grub.getConfigDir()), "/boot/grub2");
  EXPECT_EQ(text(grub.getToolsPackage()), "grub2");
  EXPECT_EQ(text(grub.getModulesPackage()), "grub2-efi");
  EXPECT_EQ(text(r.getVerity().getDataPartUuid()), "0fc63daf-8483-4772-8e79-3d69d8477de4");
  EXPECT_EQ(text(r.getVerity().getHashPartUuid()), "77ff5f63-e7b6-4633-acf4-1565b864c0e6");
}

// A save request names no output directory, SBOM or boot loader; the stage
// must not find empty ones there.
TEST(InstallerClient, AbsentPartsStayAbsent) {
  capnp::MallocMessageBuilder message;
  client::Request request;
  request.build_env.mode = client::BuildEnvMode::SAVE;
  auto builder = message.initRoot<ipc::proto::InstallerRequest>();
  client::encode(request, builder);
  const auto r = builder.asReader();
  EXPECT_FALSE(r.hasOutputDir());
  EXPECT_FALSE(r.hasSbom());
  EXPECT_FALSE(r.hasBootloader());
  EXPECT_FALSE(r.hasGrub()) << "no grub names: the schema's (Debian's) apply";
  EXPECT_FALSE(r.hasVerity()) << "no verity: a writable root";
  EXPECT_TRUE(r.getVerity().getDataPartUuid().size() == 0);
  EXPECT_FALSE(r.getBuildEnv().hasDir());
  EXPECT_EQ(r.getBuildEnv().getMode(), client::BuildEnvMode::SAVE);
}

TEST(InstallerClient, DefaultsAreTheSchemas) {
  capnp::MallocMessageBuilder encoded, schema;
  client::Request request;
  request.users.emplace_back();
  request.additional_files.emplace_back();
  client::encode(request, encoded.initRoot<ipc::proto::InstallerRequest>());
  auto plain = schema.initRoot<ipc::proto::InstallerRequest>();
  plain.initUsers(1);
  plain.initAdditionalFiles(1);
  const auto a = encoded.getRoot<ipc::proto::InstallerRequest>().asReader();
  const auto b = plain.asReader();
  EXPECT_EQ(a.getUsers()[0].getUid(), b.getUsers()[0].getUid());
  EXPECT_EQ(a.getAdditionalFiles()[0].getMode(), b.getAdditionalFiles()[0].getMode());
  EXPECT_EQ(a.getBuildEnv().getMode(), b.getBuildEnv().getMode());
}

TEST(InstallerClient, RpmFamilyCarriesDbPathKeysAndDeferredPackages) {
  client::Request request = sample_request();
  EXPECT_TRUE([&] {
    capnp::MallocMessageBuilder message;
    auto builder = message.initRoot<ipc::proto::InstallerRequest>();
    client::encode(request, builder);
    return builder.asReader().getPackageFamily().isDeb() && builder.asReader().getPackages()[0].isDeb();
  }()) << "a request without the rpm family is the deb family's";
  request.packages[0].deferred = true;
  request.rpm = client::RpmFamily{"/var/lib/rpm", {FdReference::of_path("/cfg/RPM-GPG-KEY"), FdReference::of_slot(1)}};
  capnp::MallocMessageBuilder message;
  auto builder = message.initRoot<ipc::proto::InstallerRequest>();
  client::encode(request, builder);
  const auto r = builder.asReader();
  ASSERT_TRUE(r.getPackageFamily().isRpm());
  EXPECT_EQ(text(r.getPackageFamily().getRpm().getDbPath()), "/var/lib/rpm");
  const auto keys = r.getPackageFamily().getRpm().getKeys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(FdReference::decode(keys[0]), FdReference::of_path("/cfg/RPM-GPG-KEY"));
  EXPECT_EQ(FdReference::decode(keys[1]), FdReference::of_slot(1));
  ASSERT_TRUE(r.getPackages()[0].isRpm());
  EXPECT_TRUE(r.getPackages()[0].getRpm().getDeferred());
}

TEST(InstallerClient, ResultDecodes) {
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<ipc::proto::InstallerResult>();
  result.setRootDir("/ws/root");
  auto installed = result.initInstalled(1);
  installed[0].setName("dash");
  installed[0].setVersion("0.5");
  installed[0].setArchitecture("amd64");
  result.setSbomPath("/ws/out/img.spdx.json");
  result.setKernelPath("boot/vmlinuz");
  result.setInitrdPath("boot/initrd.img");
  result.setKernelVersion("6.1.0");
  result.setBuildEnvReused(true);
  auto boot = result.initBootFiles(1);
  boot.set(0, "boot/efi/EFI/BOOT/BOOTX64.EFI");
  const client::Result d = client::decode(result.asReader());
  EXPECT_EQ(d.root_dir, "/ws/root");
  ASSERT_EQ(d.installed.size(), 1u);
  EXPECT_EQ(d.installed[0].name, "dash");
  EXPECT_EQ(d.installed[0].version, "0.5");
  EXPECT_EQ(d.installed[0].architecture, "amd64");
  EXPECT_EQ(d.sbom_path, "/ws/out/img.spdx.json");
  EXPECT_EQ(d.kernel_path, "boot/vmlinuz");
  EXPECT_EQ(d.initrd_path, "boot/initrd.img");
  EXPECT_EQ(d.kernel_version, "6.1.0");
  EXPECT_TRUE(d.build_env_reused);
  EXPECT_EQ(d.boot_files, (std::vector<std::string>{"boot/efi/EFI/BOOT/BOOTX64.EFI"}));
}

}  // namespace
}  // namespace stage::installer
