// The initrd image's requests: the installer told there is no disk (no boot
// loader, initramfs, fstab, ESP or file system UUIDs), and make-initrd given
// the tree read-only, the kernel, what to leave out and the clamp time.
#include "supervisor/build/initrd_build.hpp"
#include "supervisor/build/reproducible.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "supervisor/stage/stage_table.hpp"
#include "tests/support/temp_dir.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using testing::ElementsAre;
using testing::HasSubstr;

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

ipc::proto::StageRequest::Reader request_of(const PreparedRequest& p) {
  return p.message->getRoot<ipc::proto::Message>().asReader().getRequest();
}

// An initrd template as the OS defaults write it: a bootloader section (which
// does not apply), root with a startup script, initramfs-tools in the lock.
class InitrdBuild : public testing::Test {
 protected:
  void SetUp() override {
    image.source = dir.path() / "live.yml";
    image.image = config::Image{.name = "live", .version = "1.0"};
    image.target = config::Target{.os = "debian", .dist = "debian12", .arch = "x86_64", .image_type = "img"};
    config::SystemConfig sc;
    sc.name = "Live";
    sc.bootloader = config::Bootloader{.boot_type = "efi", .provider = "grub"};
    sc.users = {config::User{.name = "root", .startup_script = "/root/attendedinstaller"}};
    image.system_config = sc;
    lock.provider_id = "debian-debian12-x86_64";
    lock.packages = {{.name = "initramfs-tools", .version = "0.142", .architecture = "all", .repository = "main",
                      .url = "http://m/i.deb", .sha256 = std::string(64, 'c'), .size = 30}};
    lock.install_order = {"initramfs-tools"};
    files["initramfs-tools"] = dir.path() / "cache" / "packages" / "i.deb";
    touch(files["initramfs-tools"]);
    fs::create_directories(dir.path() / "ws" / "root");
    fs::create_directories(dir.path() / "ws" / "out");
  }

  InstallInputs inputs(BuildEnvMode mode = BuildEnvMode::kNone) {
    return InstallInputs{.image = image,
                         .lock = lock,
                         .package_files = files,
                         .packages_dir = dir.path() / "cache" / "packages",
                         .workspace = dir.path() / "ws",
                         .root_dir = dir.path() / "ws" / "root",
                         .output_dir = dir.path() / "ws" / "out",
                         .layout = layout,
                         .build_env_mode = mode,
                         .build_env_tree = mode == BuildEnvMode::kNone ? fs::path() : dir.path() / "env",
                         .distribution = "debian-debian12-x86_64",
                         .os_data_dir = dir.path() / "osv"};
  }

  InitrdJobInputs initrd_inputs() {
    return {.tree = dir.path() / "ws" / "root",
            .output_dir = dir.path() / "ws" / "out",
            .output_name = "live-1.0.img",
            .kernel_path = "boot/vmlinuz-6.1.0-28-amd64",
            .initrd_path = "boot/initrd.img-6.1.0-28-amd64",
            .clamp_time = 1700000000};
  }

  ::tests::TempDir dir;
  config::ImageTemplate image;
  Lockfile lock;
  std::map<std::string, fs::path> files;
  DiskLayout layout;  // an initrd has no disk
};

TEST_F(InitrdBuild, TheInstallRequestHasNoBootLoaderInitramfsFstabOrEsp) {
  const PreparedRequest p = prepare_install_request(inputs());
  const auto req = request_of(p).getInstaller();
  EXPECT_EQ(std::string(req.getBootloader().getType()), "none") << "the template's efi/grub does not apply";
  EXPECT_EQ(std::string(req.getBootloader().getProvider()), "");
  EXPECT_EQ(std::string(req.getInitramfsTool()), "none") << "initramfs-tools is locked, but the image is the initramfs";
  EXPECT_EQ(req.getFstab().size(), 0u);
  EXPECT_EQ(std::string(req.getEspMountPoint()), "");
  EXPECT_EQ(std::string(req.getRootFsUuid()), "");
  EXPECT_EQ(std::string(req.getBootFsUuid()), "");
  ASSERT_EQ(req.getUsers().size(), 1u);
  EXPECT_EQ(std::string(req.getUsers()[0].getStartupScript()), "/root/attendedinstaller");
}

TEST_F(InitrdBuild, MakeInitrdReadsTheTreeAndLeavesOutTheKernelBesideIt) {
  const PreparedRequest p = prepare_initrd_request(initrd_inputs());
  const auto req = request_of(p).getIsomaker().getMakeInitrd();
  EXPECT_EQ(std::string(req.getTreeDir().getPath()), (dir.path() / "ws" / "root").string());
  EXPECT_FALSE(req.getTreeDir().getWritable()) << "the tree is bound read-only";
  EXPECT_EQ(std::string(req.getOutputDir().getPath()), (dir.path() / "ws" / "out").string());
  EXPECT_TRUE(req.getOutputDir().getWritable());
  EXPECT_EQ(std::string(req.getKernelPath()), "/boot/vmlinuz-6.1.0-28-amd64");
  EXPECT_EQ(std::string(req.getOutputName()), "live-1.0.img");
  EXPECT_EQ(req.getCompression(), ipc::proto::MakeInitrdRequest::Compression::GZIP);
  EXPECT_EQ(req.getClampTime(), 1700000000);
  std::vector<std::string> excluded;
  for (auto path : req.getExcludedPaths()) excluded.emplace_back(path);
  EXPECT_THAT(excluded, ElementsAre("/boot/vmlinuz-6.1.0-28-amd64")) << "no initramfs was made in /boot";
}

TEST_F(InitrdBuild, AnInitramfsThePackagesMadeIsLeftOutToo) {
  touch(dir.path() / "ws" / "root" / "boot" / "initrd.img-6.1.0-28-amd64");
  const PreparedRequest p = prepare_initrd_request(initrd_inputs());
  std::vector<std::string> excluded;
  for (auto path : request_of(p).getIsomaker().getMakeInitrd().getExcludedPaths()) excluded.emplace_back(path);
  EXPECT_THAT(excluded, ElementsAre("/boot/vmlinuz-6.1.0-28-amd64", "/boot/initrd.img-6.1.0-28-amd64"));
}

// The provider's initrdCompression, validated when config.yml is read, and
// refused here too rather than replaced by a default.
TEST_F(InitrdBuild, CompressionIsTheProvidersInitrdCompression) {
  using C = ipc::proto::MakeInitrdRequest::Compression;
  for (const auto& [name, expected] : {std::pair{"zstd", C::ZSTD}, std::pair{"xz", C::XZ}, std::pair{"none", C::NONE}}) {
    InitrdJobInputs in = initrd_inputs();
    in.compression = name;
    const PreparedRequest p = prepare_initrd_request(in);
    EXPECT_EQ(request_of(p).getIsomaker().getMakeInitrd().getCompression(), expected) << name;
  }
  InitrdJobInputs in = initrd_inputs();
  in.compression = "lz4";
  EXPECT_THROW(prepare_initrd_request(in), base::Error);
}

TEST_F(InitrdBuild, AnImageWithoutAKernelIsAClearError) {
  InitrdJobInputs in = initrd_inputs();
  in.kernel_path.clear();
  try {
    prepare_initrd_request(in);
    FAIL() << "no error";
  } catch (const base::Error& e) {
    EXPECT_THAT(e.message(), HasSubstr("the image has no kernel"));
    EXPECT_THAT(e.hint(), HasSubstr("systemConfig.kernel.packages"));
  }
}

// What the installer reported is not taken on trust: only files of /boot.
TEST_F(InitrdBuild, KernelAndInitramfsMustBeFilesOfBoot) {
  for (const std::string bad : {"etc/shadow", "boot/../etc/shadow", "/boot/vmlinuz", "boot/", "boot/x/vmlinuz"}) {
    InitrdJobInputs in = initrd_inputs();
    in.kernel_path = bad;
    EXPECT_THROW(prepare_initrd_request(in), base::Error) << bad;
    in = initrd_inputs();
    in.initrd_path = bad;
    EXPECT_THROW(prepare_initrd_request(in), base::Error) << bad;
  }
}

TEST_F(InitrdBuild, TheClampTimeIsSourceDateEpochElseDerivedFromTheLockfile) {
  EXPECT_EQ(build_time(lock, "1700000000"), 1700000000);
  for (const char* bad : {"17e8", "-5", "now", "1700000000 "}) {
    EXPECT_THROW(build_time(lock, bad), base::Error) << bad;
  }
  const std::int64_t derived = build_time(lock, nullptr);
  EXPECT_EQ(build_time(lock, ""), derived) << "an empty variable is unset";
  EXPECT_GE(derived, 1577836800);
  EXPECT_LT(derived, 1577836800 + 365 * 24 * 3600);
  EXPECT_EQ(build_time(lock, nullptr), derived) << "the same lockfile, the same time";
  Lockfile other = lock;
  other.packages[0].version = "0.143";
  EXPECT_NE(build_time(other, nullptr), derived);
}

TEST_F(InitrdBuild, JobsAreInstallThenMakeInitrdOnTheIsomaker) {
  for (const BuildEnvMode mode : {BuildEnvMode::kNone, BuildEnvMode::kSave}) {
    ImageResults out;
    const std::vector<StageJob> jobs = initrd_jobs(inputs(mode), {}, out);
    std::vector<std::string> names;
    for (const StageJob& job : jobs) {
      names.push_back(job.name);
      EXPECT_EQ(job.timeout, stage_info(job.kind).default_timeout) << job.name;
    }
    ASSERT_FALSE(jobs.empty());
    EXPECT_EQ(jobs.back().kind, ipc::proto::StageKind::ISOMAKER);
    if (mode == BuildEnvMode::kSave) {
      EXPECT_THAT(names, ElementsAre("install", "configure", "make-initrd"));
      EXPECT_THAT(jobs.back().after, ElementsAre("configure"));
    } else {
      EXPECT_THAT(names, ElementsAre("install", "make-initrd"));
      EXPECT_THAT(jobs.back().after, ElementsAre("install"));
    }
  }
}

// The installer runs with the clamp time as SOURCE_DATE_EPOCH: the SBOM it
// writes into the tree carries that time, not the build's.
TEST_F(InitrdBuild, TheInstallerGetsTheClampTimeAsSourceDateEpoch) {
  ::unsetenv("SOURCE_DATE_EPOCH");
  ImageResults out;
  const std::vector<StageJob> jobs = initrd_jobs(inputs(), {}, out);
  ASSERT_EQ(jobs.front().kind, ipc::proto::StageKind::INSTALLER);
  EXPECT_EQ(request_of(jobs.front().prepare()).getSourceDateEpoch(), build_time(lock, nullptr));
  ::setenv("SOURCE_DATE_EPOCH", "1000000000", 1);
  const std::vector<StageJob> pinned = initrd_jobs(inputs(), {}, out);
  ::unsetenv("SOURCE_DATE_EPOCH");
  EXPECT_EQ(request_of(pinned.front().prepare()).getSourceDateEpoch(), 1000000000);
}

TEST(InitrdSteps, NoDiskAndTheIsomakerInTheBuildRecord) {
  const ImageSteps steps = initrd_steps();
  EXPECT_TRUE(steps.layout.partitions.empty());
  EXPECT_THAT(steps.stages, ElementsAre(ipc::proto::StageKind::INSTALLER, ipc::proto::StageKind::ISOMAKER));
}

}  // namespace
}  // namespace supervisor
