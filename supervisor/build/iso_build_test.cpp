// The pieces of an ISO build without a stage: the target disk's facts, the
// manifest live-installer reads, the make-iso request, BIOS boot, and
// live-installer going into the live environment as the build's own file.
#include "supervisor/build/iso_build.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "supervisor/build/image_jobs.hpp"
#include "tests/support/temp_dir.hpp"
#include "supervisor/build/test_partition.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

void touch(const fs::path& path, const std::string& text = "x") {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const base::Error& e) {
    return e.what();
  }
  return "(no error)";
}

using test_support::partition;

config::Disk disk_of(std::vector<config::Partition> partitions) {
  config::Disk disk;
  disk.size = "4GiB";
  disk.partition_table_type = "gpt";
  disk.partitions = std::move(partitions);
  return disk;
}

config::Disk esp_and_root() {
  return disk_of({partition("boot", "esp", "1MiB", "513MiB", "fat32", "/boot/efi"),
                  partition("rootfs", "linux-root-amd64", "513MiB", "0", "ext4", "/")});
}

config::ImageTemplate iso_template(std::optional<std::string> disk_path) {
  config::ImageTemplate t;
  t.image = config::Image{.name = "x", .version = "1.0"};
  t.target = config::Target{.os = "debian", .dist = "debian12", .arch = "x86_64", .image_type = "iso"};
  t.disk = esp_and_root();
  t.disk->path = std::move(disk_path);
  config::SystemConfig sc;
  sc.name = "Unattended_ISO";
  sc.hostname = "debian12";
  t.system_config = sc;
  return t;
}

TEST(IsoDiskFacts, NameTheRootAndEspPartitions) {
  const IsoDiskFacts facts = iso_disk_facts(plan_disk_layout(esp_and_root()));
  EXPECT_EQ(facts.root_partition, 2u);
  EXPECT_EQ(facts.root_fs_type, "ext4");
  EXPECT_EQ(facts.esp_partition, 1u);
  const IsoDiskFacts no_esp = iso_disk_facts(plan_disk_layout(disk_of({partition("r", "linux", "1MiB", "0", "ext4", "/")})));
  EXPECT_EQ(no_esp.root_partition, 1u);
  EXPECT_EQ(no_esp.esp_partition, 0u);
}

// live-installer grows / to the disk's end with resize2fs.
TEST(IsoDiskFacts, RefuseARootTheInstallerCannotGrow) {
  const config::Disk root_first = disk_of({partition("rootfs", "linux", "1MiB", "2GiB", "ext4", "/"),
                                           partition("data", "linux", "2GiB", "0", "ext4", "/data")});
  EXPECT_THAT(error_of([&] { iso_disk_facts(plan_disk_layout(root_first)); }),
              HasSubstr("the partition mounted at / must be the last one on an ISO's target disk"));
  EXPECT_THAT(error_of([&] { iso_disk_facts(plan_disk_layout(root_first)); }), HasSubstr("'data' comes after it"));
  const config::Disk xfs = disk_of({partition("rootfs", "linux", "1MiB", "0", "xfs", "/")});
  EXPECT_THAT(error_of([&] { iso_disk_facts(plan_disk_layout(xfs)); }), HasSubstr("has fsType 'xfs'"));
}

// The manifest exactly as live-installer reads it (docs/image-build.md).
TEST(IsoManifest, HoldsTheImageTheDiskAndTheLockfile) {
  const IsoRawImage raw{.gz_name = "x-1.0.raw.gz", .gz_sha256 = std::string(64, 'a'), .gz_size = 123,
                        .raw_sha256 = std::string(64, 'b'), .raw_size = 4294967296};
  const config::ImageTemplate t = iso_template("/dev/vda");
  const std::string text = iso_manifest(t, iso_disk_facts(plan_disk_layout(*t.disk)), raw, std::string(64, 'c'));
  const nlohmann::json expected = {
      {"format", 1},
      {"image",
       {{"path", "images/x-1.0.raw.gz"}, {"compression", "gzip"}, {"sha256", std::string(64, 'a')}, {"size", 123},
        {"rawSha256", std::string(64, 'b')}, {"rawSize", 4294967296}}},
      {"rootPartition", 2},
      {"rootFsType", "ext4"},
      {"espPartition", 1},
      {"diskPath", "/dev/vda"},
      {"hostname", "debian12"},
      {"lockfile", {{"path", "config/x-1.0.lock.json"}, {"sha256", std::string(64, 'c')}}},
      {"template", "config/template-dump.yaml"}};
  EXPECT_EQ(nlohmann::json::parse(text), expected) << text;
}

TEST(IsoManifest, AnUnsetDiskPathIsEmptySoTheInstallerAsks) {
  config::ImageTemplate t = iso_template(std::nullopt);
  t.system_config->hostname.reset();
  const std::string text = iso_manifest(t, iso_disk_facts(plan_disk_layout(*t.disk)), IsoRawImage{}, "");
  const nlohmann::json manifest = nlohmann::json::parse(text);
  EXPECT_EQ(manifest["diskPath"], "");
  EXPECT_EQ(manifest["hostname"], "unattended-iso");  // made from systemConfig.name
}

class IsoRequest : public ::testing::Test {
 protected:
  void SetUp() override {
    touch(dir.path() / "live" / "tree" / "usr" / "bin" / "grub-mkimage");
    touch(dir.path() / "live" / "out" / "vmlinuz-6.1");
    touch(dir.path() / "live" / "out" / "live.img");
    touch(dir.path() / "iso-files" / "manifest.json");
    touch(dir.path() / "cache" / "packages" / "sha256" / "aa" / "a1");
    touch(dir.path() / "cache" / "packages" / "sha256" / "bb" / "b1");
    fs::create_directories(dir.path() / "iso-out");
    in.live_tree = dir.path() / "live" / "tree";
    in.kernel = dir.path() / "live" / "out" / "vmlinuz-6.1";
    in.initrd = dir.path() / "live" / "out" / "live.img";
    in.extra_files = {{dir.path() / "iso-files" / "manifest.json", "/install/manifest.json"}};
    in.package_family = "deb";
    in.packages = {dir.path() / "cache" / "packages" / "sha256" / "aa" / "a1",
                   dir.path() / "cache" / "packages" / "sha256" / "bb" / "b1"};
    in.packages_dir = dir.path() / "cache" / "packages";
    in.title = "x";
    in.cmdline = "console=ttyS0,115200 console=tty0";
    in.bios_boot = true;
    in.grub = {.mkstandalone = "grub-mkstandalone", .modules_dir = "/usr/lib/grub/x86_64-efi",
               .mkimage = "grub-mkimage", .bios_modules_dir = "/usr/lib/grub/i386-pc"};
    in.clamp_time = 1700000000;
    in.output_dir = dir.path() / "iso-out";
    in.output_name = "x-1.0.iso";
  }
  static ipc::proto::MakeIsoRequest::Reader request_of(const PreparedRequest& p) {
    const auto request = p.message->getRoot<ipc::proto::Message>().asReader().getRequest().getIsomaker();
    EXPECT_TRUE(request.isMakeIso());
    return request.getMakeIso();
  }

  tests::TempDir dir;
  IsoJobInputs in;
};

TEST_F(IsoRequest, CarriesTheLiveEnvironmentTheFilesAndThePackages) {
  const PreparedRequest p = prepare_iso_request(in);
  const auto req = request_of(p);
  EXPECT_EQ(std::string(req.getTreeDir().getPath()), in.live_tree.string());
  // Files by path, each bound read-only: the stage's tools take file names.
  EXPECT_EQ(std::string(req.getKernel().getPath()), in.kernel.string());
  EXPECT_EQ(std::string(req.getInitrd().getPath()), in.initrd.string());
  ASSERT_EQ(req.getExtraFiles().size(), 1u);
  EXPECT_EQ(std::string(req.getExtraFiles()[0].getIsoPath()), "/install/manifest.json");
  EXPECT_EQ(std::string(req.getExtraFiles()[0].getSource().getPath()), (dir.path() / "iso-files" / "manifest.json").string());
  EXPECT_THAT(p.mounts.read_only, testing::IsSupersetOf({in.kernel, in.initrd, dir.path() / "iso-files" / "manifest.json"}));
  EXPECT_TRUE(p.fds.empty());
  EXPECT_EQ(req.getPackageFamily(), ipc::proto::MakeIsoRequest::PackageFamily::DEB);
  ASSERT_EQ(req.getPackages().size(), 2u);
  EXPECT_EQ(std::string(req.getPackages()[1].getPath()), in.packages[1].string());
  EXPECT_EQ(req.getPackages()[1].getSlot(), -1) << "packages do not use fd slots";
  EXPECT_THAT(p.mounts.read_only, testing::Contains(in.packages_dir));
  EXPECT_EQ(std::string(req.getOutputDir().getPath()), in.output_dir.string());
  EXPECT_THAT(p.mounts.read_write, testing::ElementsAre(in.output_dir));
  EXPECT_EQ(std::string(req.getOutputName()), "x-1.0.iso");
  for (const auto& dir_bound : p.dirs) EXPECT_EQ(dir_bound.writable, dir_bound.path == in.output_dir);
}

TEST_F(IsoRequest, CarriesTheMenuGrubBiosAndFixedTimes) {
  const PreparedRequest p = prepare_iso_request(in);  // holds the message the reader reads
  const auto req = request_of(p);
  EXPECT_EQ(std::string(req.getMenu().getTitle()), "x");
  EXPECT_EQ(std::string(req.getMenu().getCmdline()), "console=ttyS0,115200 console=tty0");
  EXPECT_EQ(std::string(req.getVolumeId()), "ICT_CDROM");
  EXPECT_EQ(req.getClampTime(), 1700000000);
  EXPECT_TRUE(req.getBiosBoot());
  EXPECT_EQ(std::string(req.getGrub().getMkimage()), "/usr/bin/grub-mkimage");
  EXPECT_EQ(std::string(req.getGrub().getEfiModulesDir()), "/usr/lib/grub/x86_64-efi");
  EXPECT_EQ(std::string(req.getGrub().getBiosModulesDir()), "/usr/lib/grub/i386-pc");
  in.package_family = "rpm";
  in.grub.mkimage = "grub2-mkimage";
  const PreparedRequest rpm_request = prepare_iso_request(in);
  const auto rpm = request_of(rpm_request);
  EXPECT_EQ(rpm.getPackageFamily(), ipc::proto::MakeIsoRequest::PackageFamily::RPM);
  EXPECT_EQ(std::string(rpm.getGrub().getMkimage()), "/usr/bin/grub2-mkimage");
}

// Without keys no secureBoot; with them the signed shim and GRUB (the
// supervisor's own copies) are files bound read-only beside the signed kernel.
TEST_F(IsoRequest, SecureBootCarriesTheSignedShimAndGrub) {
  const PreparedRequest plain = prepare_iso_request(in);
  EXPECT_FALSE(request_of(plain).hasSecureBoot());
  touch(dir.path() / "iso-efi" / "medium" / "EFI" / "BOOT" / "BOOTX64.EFI");
  touch(dir.path() / "iso-efi" / "medium" / "EFI" / "BOOT" / "grubx64.efi");
  in.signed_shim = dir.path() / "iso-efi" / "medium" / "EFI" / "BOOT" / "BOOTX64.EFI";
  in.signed_loader = dir.path() / "iso-efi" / "medium" / "EFI" / "BOOT" / "grubx64.efi";
  const PreparedRequest p = prepare_iso_request(in);
  const auto req = request_of(p);
  ASSERT_TRUE(req.hasSecureBoot());
  EXPECT_EQ(std::string(req.getSecureBoot().getShim().getPath()), in.signed_shim.string());
  EXPECT_EQ(std::string(req.getSecureBoot().getLoader().getPath()), in.signed_loader.string());
  EXPECT_THAT(p.mounts.read_only, testing::IsSupersetOf({in.signed_shim, in.signed_loader}));
}

// A file planted as a link where the supervisor expects its own is not followed.
TEST_F(IsoRequest, AnExtraFileThatIsALinkIsRefused) {
  fs::create_symlink("/etc/passwd", dir.path() / "iso-files" / "planted");
  in.extra_files.push_back({dir.path() / "iso-files" / "planted", "/x"});
  EXPECT_THAT(error_of([&] { prepare_iso_request(in); }), HasSubstr("planted' is not a regular file"));
}

// The cache keeps packages by sha256; the ISO's repository names them as
// their own repository does.
TEST(IsoPackageFileName, IsTheUrlsBaseNameElseMadeFromTheLock) {
  LockedPackage p{.name = "libc6", .version = "2.36-9+deb12u4", .architecture = "amd64", .repository = "main",
                  .url = "http://m/debian/pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb"};
  EXPECT_EQ(iso_package_file_name(p, ".deb"), "libc6_2.36-9+deb12u4_amd64.deb");
  p.url = "http://m/by-hash/0123";
  p.version = "1:2.36-9";
  EXPECT_EQ(iso_package_file_name(p, ".deb"), "libc6_2.36-9_amd64.deb");  // no epoch, as in a pool
  p.url = "http://m/x/..deb";
  EXPECT_EQ(iso_package_file_name(p, ".deb"), "libc6_2.36-9_amd64.deb");
  p.url = "https://r/x86_64/bash-5.2.15-1.azl3.x86_64.rpm";
  EXPECT_EQ(iso_package_file_name(p, ".rpm"), "bash-5.2.15-1.azl3.x86_64.rpm");
  p.name = "bad/name";
  p.url = "";
  EXPECT_THAT(error_of([&] { iso_package_file_name(p, ".deb"); }), HasSubstr("no file name"));
}

TEST(IsoBiosBoot, OnlyOnX86WhenTheLiveTreeHasTheI386PcModules) {
  tests::TempDir dir;
  const config::GrubNames grub{.mkimage = "grub-mkimage", .bios_modules_dir = "/usr/lib/grub/i386-pc"};
  EXPECT_FALSE(iso_bios_boot("x86_64", dir.path(), grub));
  fs::create_directories(dir.path() / "usr/lib/grub/i386-pc");
  EXPECT_TRUE(iso_bios_boot("x86_64", dir.path(), grub));
  EXPECT_FALSE(iso_bios_boot("aarch64", dir.path(), grub));
  EXPECT_FALSE(iso_bios_boot("x86_64", dir.path(), config::GrubNames{.mkimage = "grub-mkimage"}));
  tests::TempDir linked;
  fs::create_directories(linked.path() / "usr/lib/grub");
  fs::create_directory_symlink(dir.path() / "usr/lib/grub/i386-pc", linked.path() / "usr/lib/grub/i386-pc");
  EXPECT_FALSE(iso_bios_boot("x86_64", linked.path(), grub));
}

// live-installer is the build's own program: it goes in after the
// template's files, executable, from wherever the build keeps it.
TEST(LiveInstallerFile, GoesIntoTheInstallRequestAfterTheTemplatesFiles) {
  tests::TempDir dir;
  touch(dir.path() / "tmpl" / "motd");
  touch(dir.path() / "bin" / "live-installer", "\x7f" "ELF");
  touch(dir.path() / "cache" / "packages" / "p");
  fs::create_directories(dir.path() / "ws" / "root");
  fs::create_directories(dir.path() / "ws" / "out");
  config::ImageTemplate live;
  live.source = dir.path() / "tmpl" / "live.yml";
  live.image = config::Image{.name = "live", .version = "1"};
  live.target = config::Target{.os = "debian", .dist = "debian12", .arch = "x86_64", .image_type = "img"};
  config::SystemConfig sc;
  sc.name = "Live";
  sc.additional_files = {{.local = "motd", .final = "/etc/motd", .declared_in = {}}};
  live.system_config = sc;
  Lockfile lock;
  lock.packages = {{.name = "p", .version = "1", .architecture = "all", .repository = "main", .url = "http://m/p.deb",
                    .sha256 = std::string(64, 'a'), .size = 1}};
  lock.install_order = {"p"};
  const std::map<std::string, fs::path> files = {{"p", dir.path() / "cache" / "packages" / "p"}};
  const DiskLayout layout;
  InstallInputs in{.image = live, .lock = lock, .package_files = files,
                   .packages_dir = dir.path() / "cache" / "packages", .workspace = dir.path() / "ws",
                   .root_dir = dir.path() / "ws" / "root", .output_dir = dir.path() / "ws" / "out",
                   .layout = layout, .distribution = "debian-debian12-x86_64",
                   .facts = {.initramfs_tool = "initramfs-tools"}};
  in.supplied_files = {{dir.path() / "bin" / "live-installer", kLiveInstallerPath, 0755}};
  const PreparedRequest p = prepare_install_request(in);
  const auto added = p.message->getRoot<ipc::proto::Message>().asReader().getRequest().getInstaller().getAdditionalFiles();
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(std::string(added[0].getDestination()), "/etc/motd");
  EXPECT_EQ(std::string(added[1].getDestination()), "/usr/bin/live-installer");
  EXPECT_EQ(added[1].getMode(), 0755u);
  EXPECT_EQ(p.fd_paths.at(static_cast<std::size_t>(added[1].getSource().getSlot())),
            dir.path() / "bin" / "live-installer");
  // Not a way for a link to reach another file.
  fs::remove(dir.path() / "bin" / "live-installer");
  fs::create_symlink(dir.path() / "tmpl" / "motd", dir.path() / "bin" / "live-installer");
  EXPECT_THAT(error_of([&] { prepare_install_request(in); }), HasSubstr("live-installer"));
}

}  // namespace
}  // namespace supervisor
