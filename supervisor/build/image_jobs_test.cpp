#include "supervisor/build/image_jobs.hpp"

#include <crypt.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "supervisor/stage/stage_table.hpp"
#include "tests/support/temp_dir.hpp"
#include "supervisor/build/test_partition.hpp"

namespace supervisor {
namespace {

namespace fs = std::filesystem;
using testing::ElementsAre;

using TempDir = ::tests::TempDir;

void touch(const fs::path& path, const std::string& text = "x") {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

using test_support::partition;

// A build's inputs laid out in a temporary directory: template dir with an
// additional file, a packages/ dir, a workspace with root/ and out/.
class ImageJobs : public testing::Test {
 protected:
  void SetUp() override {
    image.source = dir.path() / "tmpl" / "user.yml";
    image.image = config::Image{.name = "demo", .version = "1.2.3"};
    image.target = config::Target{.os = "debian", .dist = "debian12", .arch = "x86_64", .image_type = "raw"};
    config::Disk disk;
    disk.size = "2GiB";
    disk.partition_table_type = "gpt";
    disk.artifacts = {{"raw", "gzip"}, {"qcow2", std::nullopt}};
    disk.partitions = {partition("boot", "esp", "1MiB", "65MiB", "fat32", "/boot/efi"),
                       partition("rootfs", "linux-root-amd64", "65MiB", "0", "ext4", "/")};
    image.disk = disk;
    config::SystemConfig sc;
    sc.name = "Sys";
    sc.hostname = "demo-host";
    sc.bootloader = config::Bootloader{.boot_type = "efi", .provider = "grub2"};
    sc.kernel = config::Kernel{.cmdline = "console=ttyS0", .enable_extra_modules = " usbcore usb-common,pcspkr "};
    sc.users = {config::User{.name = "alice", .password = "pw", .hash_algo = "sha256", .password_max_age = 90,
                             .startup_script = "/bin/start", .groups = {"sudo"}, .sudo = true},
                config::User{.name = "locked"}};
    sc.configurations = {{"systemctl enable foo"}};
    sc.additional_files = {{.local = "files/motd", .final = "/etc/motd", .declared_in = dir.path() / "osv" / "d.yml"},
                           {.local = "run.sh", .final = "/usr/local/bin/run.sh", .declared_in = {}}};
    image.system_config = sc;
    touch(dir.path() / "osv" / "files" / "motd");
    touch(dir.path() / "tmpl" / "run.sh");
    fs::permissions(dir.path() / "tmpl" / "run.sh", fs::perms::owner_exec, fs::perm_options::add);

    lock.provider_id = "debian-debian12-x86_64";
    lock.packages = {
        {.name = "base-files", .version = "12.4", .architecture = "amd64", .repository = "main",
         .url = "http://m/b.deb", .sha256 = std::string(64, 'a'), .size = 10, .deb = {.essential = true}},
        {.name = "dpkg", .version = "1.21", .architecture = "amd64", .repository = "main", .url = "http://m/d.deb",
         .sha256 = std::string(64, 'b'), .size = 20, .deb = {.essential = true, .pre_depends = {"libc6 (>= 2.34)"}}},
        {.name = "initramfs-tools", .version = "0.142", .architecture = "all", .repository = "main",
         .url = "http://m/i.deb", .sha256 = std::string(64, 'c'), .size = 30}};
    lock.install_order = {"dpkg", "base-files", "initramfs-tools"};
    for (const auto& p : lock.packages) {
      files[p.name] = dir.path() / "cache" / "packages" / "sha256" / p.sha256.substr(0, 2) / p.sha256;
      touch(files[p.name]);
    }
    fs::create_directories(dir.path() / "ws" / "root");
    fs::create_directories(dir.path() / "ws" / "out");
    fs::create_directories(dir.path() / "env" / "tree");
    layout = plan_disk_layout(*image.disk);
  }

  InstallInputs inputs(BuildEnvMode mode) {
    return InstallInputs{.image = image,
                         .lock = lock,
                         .package_files = files,
                         .packages_dir = dir.path() / "cache" / "packages",
                         .workspace = dir.path() / "ws",
                         .root_dir = dir.path() / "ws" / "root",
                         .output_dir = dir.path() / "ws" / "out",
                         .layout = layout,
                         .build_env_mode = mode,
                         .build_env_tree = mode == BuildEnvMode::kNone ? fs::path() : dir.path() / "env" / "tree",
                         .distribution = "debian-debian12-x86_64",
                         .os_data_dir = dir.path() / "osv"};
  }

  static ipc::proto::StageRequest::Reader request_of(const PreparedRequest& p) {
    return p.message->getRoot<ipc::proto::Message>().asReader().getRequest();
  }

  TempDir dir;
  config::ImageTemplate image;
  Lockfile lock;
  std::map<std::string, fs::path> files;
  DiskLayout layout;
};

TEST_F(ImageJobs, InstallRequestListsPackagesByPathInInstallOrder) {
  const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kNone));
  const auto req = request_of(p).getInstaller();
  ASSERT_EQ(req.getPackages().size(), 3u);
  EXPECT_EQ(std::string(req.getPackages()[0].getName()), "dpkg");
  EXPECT_EQ(std::string(req.getPackages()[1].getName()), "base-files");
  const auto dpkg = req.getPackages()[0];
  EXPECT_TRUE(dpkg.getDeb().getEssential());
  ASSERT_EQ(dpkg.getDeb().getPreDepends().size(), 1u);
  EXPECT_EQ(std::string(dpkg.getDeb().getPreDepends()[0]), "libc6 (>= 2.34)");
  EXPECT_EQ(std::string(dpkg.getFile().getPath()), files["dpkg"].string());
  EXPECT_EQ(dpkg.getFile().getSlot(), -1) << "packages do not use fd slots";
  EXPECT_EQ(std::string(dpkg.getSha256()), std::string(64, 'b'));
  EXPECT_EQ(dpkg.getSize(), 20u);
  EXPECT_EQ(std::string(dpkg.getDownloadUrl()), "http://m/d.deb");
  EXPECT_EQ(std::string(dpkg.getRepository()), "main");
  EXPECT_FALSE(req.getPackages()[2].getDeb().getEssential());
  EXPECT_THAT(p.mounts.read_only, testing::Contains(dir.path() / "cache" / "packages"));
  EXPECT_THAT(p.mounts.read_write, testing::Contains(dir.path() / "ws"));
}

TEST_F(ImageJobs, InstallJobMountsProcAndDevInsideTheTree) {
  const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kNone));
  ASSERT_EQ(p.mounts.extra.size(), 2u);
  EXPECT_EQ(p.mounts.extra[0].kind, sandbox::MountKind::kProc);
  EXPECT_EQ(p.mounts.extra[0].target, (dir.path() / "ws" / "root" / "proc").string());
  EXPECT_EQ(p.mounts.extra[1].kind, sandbox::MountKind::kDev);
  EXPECT_EQ(p.mounts.extra[1].target, (dir.path() / "ws" / "root" / "dev").string());
}

TEST_F(ImageJobs, InstallRequestCarriesTheOsConfiguration) {
  const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kNone));
  const auto req = request_of(p).getInstaller();
  EXPECT_EQ(std::string(req.getHostname()), "demo-host");
  ASSERT_EQ(req.getUsers().size(), 2u);
  const std::string hash = req.getUsers()[0].getPasswordHash();
  EXPECT_THAT(hash, testing::StartsWith("$5$"));
  EXPECT_EQ(std::string(::crypt("pw", hash.c_str())), hash);
  EXPECT_TRUE(req.getUsers()[0].getSudo());
  EXPECT_EQ(std::string(req.getUsers()[0].getStartupScript()), "/bin/start");
  EXPECT_EQ(std::string(req.getUsers()[1].getStartupScript()), "") << "none: the login shell stays";
  EXPECT_EQ(std::string(req.getUsers()[1].getPasswordHash()), "") << "no password: locked";
  EXPECT_EQ(req.getUsers()[0].getPasswordMaxAge(), 90);
  EXPECT_EQ(req.getUsers()[1].getPasswordMaxAge(), -2) << "none given: the distribution's default";
  ASSERT_EQ(req.getExtraModules().size(), 3u);
  EXPECT_EQ(std::string(req.getExtraModules()[0]), "usbcore");
  EXPECT_EQ(std::string(req.getExtraModules()[1]), "usb-common");
  EXPECT_EQ(std::string(req.getExtraModules()[2]), "pcspkr");
  ASSERT_EQ(req.getCommands().size(), 1u);
  EXPECT_EQ(std::string(req.getCommands()[0].getScript()), "systemctl enable foo");
  EXPECT_EQ(std::string(req.getKernelCmdline()), "console=ttyS0");
  EXPECT_EQ(std::string(req.getInitramfsTool()), "initramfs-tools");
  EXPECT_EQ(std::string(req.getBootloader().getType()), "efi");
  EXPECT_EQ(std::string(req.getBootloader().getProvider()), "grub") << "grub2 is grub";
  EXPECT_EQ(std::string(req.getSbom().getFileName()), "demo-1.2.3.spdx.json");
  EXPECT_TRUE(req.getSbom().getEnabled());
  EXPECT_EQ(std::string(req.getRootFsUuid()), layout.root_fs_uuid);
  EXPECT_EQ(std::string(req.getBootFsUuid()), "");
  EXPECT_EQ(std::string(req.getEspMountPoint()), "/boot/efi");
  ASSERT_EQ(req.getFstab().size(), 2u);
  EXPECT_EQ(std::string(req.getFstab()[0].getSpec()), "UUID=" + layout.root_fs_uuid);
  EXPECT_EQ(std::string(req.getFstab()[1].getFsType()), "vfat");
}

// users[].groups, .home and .shell reach the installer, which runs useradd
// with them (stages/installer/os_config_test.cpp).
TEST_F(ImageJobs, InstallRequestCarriesEachUsersGroupsHomeAndShell) {
  image.system_config->users[0].groups = {"adm", "sudo"};
  image.system_config->users[0].home = "/srv/alice";
  image.system_config->users[0].shell = "/bin/zsh";
  const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kNone));
  const auto users = request_of(p).getInstaller().getUsers();
  ASSERT_EQ(users.size(), 2u);
  ASSERT_EQ(users[0].getGroups().size(), 2u);
  EXPECT_EQ(std::string(users[0].getGroups()[0]), "adm");
  EXPECT_EQ(std::string(users[0].getGroups()[1]), "sudo");
  EXPECT_EQ(std::string(users[0].getHome()), "/srv/alice");
  EXPECT_EQ(std::string(users[0].getShell()), "/bin/zsh");
  EXPECT_EQ(users[1].getGroups().size(), 0u);
  EXPECT_EQ(std::string(users[1].getHome()), "") << "none given: useradd's default";
  EXPECT_EQ(std::string(users[1].getShell()), "") << "none given: the installer's /bin/bash";
}

// kernel.uki reaches both the installer (which builds the UKI) and the disk
// maker (which finds it on the ESP); absent, neither makes one.
TEST_F(ImageJobs, InstallAndDiskRequestsCarryTheKernelsUki) {
  const DiskInputs disk{.image = image, .workspace = dir.path() / "ws", .root_dir = dir.path() / "ws" / "root",
                        .output_dir = dir.path() / "ws" / "out", .layout = layout};
  EXPECT_FALSE(request_of(prepare_install_request(inputs(BuildEnvMode::kNone))).getInstaller().getUki());
  EXPECT_FALSE(request_of(prepare_disk_request(disk)).getDiskmaker().getUki());
  image.system_config->kernel->uki = true;  // `disk` holds a reference to `image`
  EXPECT_TRUE(request_of(prepare_install_request(inputs(BuildEnvMode::kNone))).getInstaller().getUki());
  EXPECT_TRUE(request_of(prepare_disk_request(disk)).getDiskmaker().getUki());
}

TEST_F(ImageJobs, AdditionalFilesResolveAgainstTheirTemplateAndTravelAsFds) {
  const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kNone));
  const auto req = request_of(p).getInstaller();
  ASSERT_EQ(req.getAdditionalFiles().size(), 2u);
  const auto motd = req.getAdditionalFiles()[0];
  ASSERT_GE(motd.getSource().getSlot(), 0);
  EXPECT_EQ(p.fd_paths[static_cast<std::size_t>(motd.getSource().getSlot())], dir.path() / "osv" / "files" / "motd");
  EXPECT_EQ(motd.getMode(), 0644u);
  const auto run = req.getAdditionalFiles()[1];
  EXPECT_EQ(p.fd_paths[static_cast<std::size_t>(run.getSource().getSlot())], dir.path() / "tmpl" / "run.sh");
  EXPECT_EQ(run.getMode(), 0755u) << "an executable source stays executable";
  EXPECT_EQ(p.fds.size(), p.fd_paths.size());
  EXPECT_LE(p.fds.size(), 32u);
}

TEST_F(ImageJobs, AMissingAdditionalFileIsAnError) {
  fs::remove(dir.path() / "osv" / "files" / "motd");
  EXPECT_THROW(prepare_install_request(inputs(BuildEnvMode::kNone)), base::Error);
}

TEST_F(ImageJobs, BuildEnvModesAndTheirDirectory) {
  {
    const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kNone));
    EXPECT_EQ(request_of(p).getInstaller().getBuildEnv().getMode(), ipc::proto::BuildEnv::Mode::NONE);
  }
  {
    const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kSave));
    const auto env = request_of(p).getInstaller().getBuildEnv();
    EXPECT_EQ(env.getMode(), ipc::proto::BuildEnv::Mode::SAVE);
    // A directory: named by path and bound there, never an fd.
    EXPECT_EQ(env.getDir().getSlot(), -1);
    EXPECT_EQ(std::string(env.getDir().getPath()), (dir.path() / "env" / "tree").string());
    EXPECT_TRUE(env.getDir().getWritable());
    EXPECT_THAT(p.mounts.read_write, testing::Contains(dir.path() / "env" / "tree"));
  }
  {
    const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kReuse));
    const auto env = request_of(p).getInstaller().getBuildEnv();
    EXPECT_EQ(env.getMode(), ipc::proto::BuildEnv::Mode::REUSE);
    EXPECT_EQ(std::string(env.getDir().getPath()), (dir.path() / "env" / "tree").string());
    EXPECT_FALSE(env.getDir().getWritable());
    EXPECT_THAT(p.mounts.read_only, testing::Contains(dir.path() / "env" / "tree"));
  }
}

// The saved tree is filled by a request of its own that carries nothing of
// the template and sees nothing of the workspace: configuration commands,
// additional files, the initramfs and boot loader steps never run where the
// saved tree is writable.
TEST_F(ImageJobs, TheSaveRequestInstallsTheBaseIntoTheSavedTreeAndNothingElse) {
  const PreparedRequest p = prepare_install_request(inputs(BuildEnvMode::kSave));
  const auto req = request_of(p).getInstaller();
  const std::string tree = (dir.path() / "env" / "tree").string();
  EXPECT_EQ(std::string(req.getRootDir().getPath()), tree);
  EXPECT_EQ(std::string(req.getBuildEnv().getDir().getPath()), tree);
  EXPECT_EQ(req.getPackages().size(), 3u);
  EXPECT_EQ(req.getCommands().size(), 0u);
  EXPECT_EQ(req.getAdditionalFiles().size(), 0u);
  EXPECT_EQ(req.getUsers().size(), 0u);
  EXPECT_FALSE(req.hasBootloader());
  EXPECT_FALSE(req.getSbom().getEnabled());
  EXPECT_TRUE(p.fds.empty());
  EXPECT_THAT(p.mounts.read_write, testing::Not(testing::Contains(dir.path() / "ws")));
  EXPECT_THAT(p.mounts.read_write, testing::Not(testing::Contains(dir.path() / "ws" / "root")));
}

TEST_F(ImageJobs, DiskRequestCarriesTheLayoutAndArtifacts) {
  const PreparedRequest p = prepare_disk_request(DiskInputs{.image = image,
                                                            .workspace = dir.path() / "ws",
                                                            .root_dir = dir.path() / "ws" / "root",
                                                            .output_dir = dir.path() / "ws" / "out",
                                                            .layout = layout});
  const auto req = request_of(p).getDiskmaker();
  EXPECT_EQ(req.getTableType(), ipc::proto::DiskmakerRequest::TableType::GPT);
  EXPECT_EQ(req.getDiskSize(), 2ull << 30);
  ASSERT_EQ(req.getPartitions().size(), 2u);
  const auto root = req.getPartitions()[1];
  EXPECT_EQ(std::string(root.getId()), "rootfs");
  EXPECT_EQ(root.getStart(), 65ull << 20);
  EXPECT_EQ(root.getEnd(), 0u);
  EXPECT_EQ(std::string(root.getTypeGuid()), "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
  EXPECT_EQ(std::string(root.getFsUuid()), layout.root_fs_uuid);
  EXPECT_EQ(std::string(root.getPartUuid()), layout.partitions[1].part_uuid);
  ASSERT_EQ(req.getArtifacts().size(), 2u);
  EXPECT_EQ(std::string(req.getArtifacts()[0].getCompression()), "gz");
  EXPECT_EQ(std::string(req.getArtifacts()[1].getType()), "qcow2");
  EXPECT_EQ(std::string(req.getArtifacts()[1].getCompression()), "none");
  EXPECT_EQ(std::string(req.getOutputName()), "demo-1.2.3");
  EXPECT_EQ(req.getRootDir().getSlot(), -1);
  EXPECT_EQ(std::string(req.getRootDir().getPath()), (dir.path() / "ws" / "root").string());
  EXPECT_EQ(std::string(req.getOutputDir().getPath()), (dir.path() / "ws" / "out").string());
  EXPECT_TRUE(p.fds.empty()) << "no fd at all: the tree and the output directory are bound";
  // Both inside the workspace's bind: one mount, so the stage can rename
  // subtrees between them.
  const std::vector<HostBind> binds = planned_binds(p.mounts);
  ASSERT_EQ(binds.size(), 1u);
  EXPECT_EQ(binds[0].path, dir.path() / "ws");
  EXPECT_TRUE(binds[0].writable);
}

// The build's identifiers and time reach the disk maker: the disk id, each
// ext partition's hash seed, SOURCE_DATE_EPOCH (docs/reproducible-builds.md).
TEST_F(ImageJobs, DiskRequestCarriesTheDiskIdHashSeedAndBuildTime) {
  const PreparedRequest p = prepare_disk_request(DiskInputs{.image = image,
                                                            .workspace = dir.path() / "ws",
                                                            .root_dir = dir.path() / "ws" / "root",
                                                            .output_dir = dir.path() / "ws" / "out",
                                                            .layout = layout,
                                                            .source_date_epoch = 1600000000});
  EXPECT_EQ(request_of(p).getSourceDateEpoch(), 1600000000);
  const auto req = request_of(p).getDiskmaker();
  ASSERT_FALSE(layout.disk_id.empty());
  EXPECT_EQ(std::string(req.getDiskId()), layout.disk_id);
  ASSERT_FALSE(layout.partitions[1].ext_hash_seed.empty());
  EXPECT_EQ(std::string(req.getPartitions()[1].getExtHashSeed()), layout.partitions[1].ext_hash_seed);
  EXPECT_EQ(std::string(req.getPartitions()[0].getExtHashSeed()), "") << "the ESP is FAT";
}

// The password salt is the build's: the same template and lockfile, the same
// hash; another lockfile, another.
TEST_F(ImageJobs, InstallRequestsOfOneBuildHashThePasswordTheSame) {
  auto hash = [this] {
    return std::string(request_of(prepare_install_request(inputs(BuildEnvMode::kNone))).getInstaller()
                           .getUsers()[0].getPasswordHash());
  };
  const std::string first = hash();
  EXPECT_EQ(hash(), first);
  lock.packages[0].version += "+1";
  EXPECT_NE(hash(), first);
}

TEST_F(ImageJobs, NoRequestPassesADirectoryAsAnFd) {
  for (const BuildEnvMode mode : {BuildEnvMode::kNone, BuildEnvMode::kSave, BuildEnvMode::kReuse}) {
    const PreparedRequest p = prepare_install_request(inputs(mode));
    for (std::size_t i = 0; i < p.fds.size(); ++i) {
      struct stat st {};
      ASSERT_EQ(::fstat(p.fds[i].get(), &st), 0);
      EXPECT_FALSE(S_ISDIR(st.st_mode)) << p.fd_paths[i];
    }
  }
}

TEST_F(ImageJobs, EveryJobHasItsStagesTimeoutFromTheStageTable) {
  for (const BuildEnvMode mode : {BuildEnvMode::kNone, BuildEnvMode::kSave}) {
    ImageResults out;
    const std::vector<StageJob> jobs = image_jobs(inputs(mode), "resolve", {}, out);
    std::vector<std::string> names;
    for (const StageJob& job : jobs) {
      names.push_back(job.name);
      EXPECT_EQ(job.timeout, stage_info(job.kind).default_timeout) << job.name;
    }
    if (mode == BuildEnvMode::kSave) {
      EXPECT_THAT(names, ElementsAre("install", "configure", "make-disk"));
    } else {
      EXPECT_THAT(names, ElementsAre("install", "make-disk"));
    }
  }
}

// Without Secure Boot keys make-disk makes the whole disk; with them it stops
// before the FAT partitions (phase partitions), and the signing jobs and
// finish-disk are added as it succeeds (secure_boot_test.cpp has those jobs).
TEST_F(ImageJobs, SecureBootKeysMakeTheDiskInTwoPhases) {
  using Phase = ipc::proto::DiskmakerRequest::Phase;
  ImageResults out;
  std::vector<StageJob> jobs = image_jobs(inputs(BuildEnvMode::kNone), "", {}, out);
  ASSERT_EQ(jobs.back().name, "make-disk");
  EXPECT_EQ(request_of(jobs.back().prepare()).getDiskmaker().getPhase(), Phase::WHOLE);

  image.system_config->immutability = config::Immutability{
      .enabled = true, .secure_boot_db_key = "DB.key", .secure_boot_db_crt = "DB.crt", .secure_boot_db_cer = "DB.cer"};
  EXPECT_THROW(image_jobs(inputs(BuildEnvMode::kNone), "", {}, out), base::Error) << "no way to add the later jobs";
  std::vector<std::string> added;
  jobs = image_jobs(inputs(BuildEnvMode::kNone), "", {}, out, [&](StageJob job) { added.push_back(job.name); });
  std::vector<std::string> names;
  for (const StageJob& job : jobs) names.push_back(job.name);
  EXPECT_THAT(names, ElementsAre("install", "make-disk"));
  EXPECT_EQ(request_of(jobs.back().prepare()).getDiskmaker().getPhase(), Phase::PARTITIONS);
  EXPECT_TRUE(added.empty()) << "nothing is added before make-disk has run";
  EXPECT_EQ(esp_copies_dir(image, dir.path() / "ws" / "out"), dir.path() / "ws" / "out" / ".demo-1.2.3.esp");
}

TEST(PlannedBinds, OuterFirstNestedSameAccessDroppedReadOnlyInsideWritableKept) {
  StageMounts mounts;
  mounts.read_write = {"/w/ws/root", "/w/ws", "/w/ws/out"};
  mounts.read_only = {"/w/ws/env", "/cache/packages", "/w/ws"};
  const std::vector<HostBind> binds = planned_binds(mounts);
  ASSERT_EQ(binds.size(), 3u);
  EXPECT_EQ(binds[0].path, "/cache/packages");
  EXPECT_FALSE(binds[0].writable);
  EXPECT_EQ(binds[1].path, "/w/ws");
  EXPECT_TRUE(binds[1].writable) << "at one path the writable bind wins";
  EXPECT_EQ(binds[2].path, "/w/ws/env");
  EXPECT_FALSE(binds[2].writable) << "a read-only tree inside the writable workspace stays read-only";
}

TEST(InstallOrder, FollowsInstallOrderThenTheRest) {
  Lockfile lock;
  lock.packages = {{.name = "a"}, {.name = "b"}, {.name = "c"}};
  lock.install_order = {"c", "a"};
  std::vector<std::string> names;
  for (const LockedPackage* p : packages_in_install_order(lock)) names.push_back(p->name);
  EXPECT_THAT(names, ElementsAre("c", "a", "b"));
  lock.install_order = {"zz"};
  EXPECT_THROW(packages_in_install_order(lock), base::Error);
}

TEST(InitramfsTool, FollowsThePackageSetThenTheDistribution) {
  const config::DistributionFacts debian{.initramfs_tool = "initramfs-tools"};
  Lockfile lock;
  EXPECT_EQ(initramfs_tool(lock, debian), "initramfs-tools");
  lock.packages = {{.name = "dracut"}};
  EXPECT_EQ(initramfs_tool(lock, debian), "dracut");
  lock.packages.clear();
  // The provider's value, whatever the distribution is called.
  EXPECT_EQ(initramfs_tool(lock, {.initramfs_tool = "dracut"}), "dracut");
  EXPECT_THROW(initramfs_tool(lock, {}), base::Error);
  // Debian's dracut-core beside initramfs-tools: dracut for a verity root only.
  lock.packages = {{.name = "initramfs-tools"}, {.name = "dracut-core"}};
  EXPECT_EQ(initramfs_tool(lock, debian), "initramfs-tools");
  EXPECT_EQ(initramfs_tool(lock, debian, true), "dracut");
}

TEST_F(ImageJobs, InstallRequestCarriesTheDistributionFacts) {
  InstallInputs in = inputs(BuildEnvMode::kNone);
  in.facts = {.initramfs_tool = "dracut", .purl_type = "rpm", .sudo_group = "wheel",
              .initrd_file_name = "initramfs-{kver}.img",
              .grub = {"grub2-mkstandalone", "/usr/lib/grub/x86_64-efi", "/boot/grub2", "grub2", "grub2-efi"}};
  const PreparedRequest p = prepare_install_request(in);
  const auto req = request_of(p).getInstaller();
  EXPECT_EQ(std::string(req.getSudoGroup()), "wheel");
  EXPECT_EQ(std::string(req.getInitrdFileName()), "initramfs-{kver}.img");
  EXPECT_EQ(std::string(req.getSbom().getPurlType()), "rpm");
  EXPECT_EQ(std::string(req.getInitramfsTool()), "initramfs-tools") << "the locked package wins";
  EXPECT_EQ(std::string(req.getGrub().getMkstandalone()), "grub2-mkstandalone");
  EXPECT_EQ(std::string(req.getGrub().getModulesDir()), "/usr/lib/grub/x86_64-efi");
  EXPECT_EQ(std::string(req.getGrub().getConfigDir()), "/boot/grub2");
  EXPECT_EQ(std::string(req.getGrub().getToolsPackage()), "grub2");
  EXPECT_EQ(std::string(req.getGrub().getModulesPackage()), "grub2-efi");
}

}  // namespace
}  // namespace supervisor

namespace supervisor {
namespace {

TEST(ImageHostname, IsTheTemplatesOrAValidOneMadeFromTheSystemName) {
  config::SystemConfig system;
  system.name = "Minimal_Raw";
  EXPECT_EQ(image_hostname(system), "minimal-raw");
  system.name = "__Edge  Box 2__";
  EXPECT_EQ(image_hostname(system), "edge-box-2");
  system.name = "___";
  EXPECT_EQ(image_hostname(system), "localhost");
  system.hostname = "my-host";
  EXPECT_EQ(image_hostname(system), "my-host");
}

}  // namespace
}  // namespace supervisor
