// The real stage-diskmaker, sandboxed as in a build, on a small tree made in
// the same kind of user namespace (so owners 0:42, a setuid bit and a file
// capability are real inside it). The disk is checked from outside with the
// host's own tools: sfdisk --json, debugfs, mdir, blkid, qemu-img compare.
// Run as an unprivileged user with an /etc/subuid range (or as root).
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "sandbox/stage_owner.hpp"
#include "sandbox/stage_policy.hpp"
#include "base/unique_fd.hpp"
#include "sandbox/testing/probe_run.hpp"
#include "ipc/shared.capnp.h"
#include "stages/diskmaker/policy.hpp"
#include "stages/diskmaker/tools.hpp"
#include "tests/support/gtest_run.hpp"

namespace stage::diskmaker {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kRootOffset = 36 * kMiB;
constexpr const char* kRootUuid = "9a5c4f3e-1b2c-4d5e-8f90-123456789abc";
constexpr const char* kStageInSandbox = "/run/oic/stage-diskmaker";
constexpr const char* kSelfInSandbox = "/run/oic/fixture";

// ---- the tree, made inside the user namespace by this binary itself ----

void write_file(const fs::path& path, const std::string& text, mode_t mode, uid_t uid, gid_t gid) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  if (::chown(path.c_str(), uid, gid) < 0 || ::chmod(path.c_str(), mode) < 0) {
    std::perror(path.c_str());
    std::exit(3);
  }
}

int make_tree(const fs::path& root) {
  write_file(root / "etc/shadow", "root:*:19000:0:99999:7:::\n", 0640, 0, 42);
  write_file(root / "usr/bin/su", "not really su\n", 04755, 0, 0);
  write_file(root / "usr/bin/ping", "not really ping\n", 0755, 0, 0);
  write_file(root / "boot/efi/EFI/BOOT/BOOTX64.EFI", "MZ fake efi\n", 0644, 0, 0);
  write_file(root / "boot/efi/loader/loader.conf", "timeout 3\n", 0644, 0, 0);
  // A UKI as the installer leaves it for a dm-verity root.
  write_file(root / "boot/efi/EFI/Linux/linux.efi",
             std::string("MZ uki .cmdline root=/dev/mapper/root roothash=") + ipc::proto::ROOT_HASH_PLACEHOLDER.get().cStr() +
                 " ro\n", 0644, 0, 0);
  // Unreadable for root without CAP_DAC_READ_SEARCH: mkfs must still copy it.
  write_file(root / "home/user/.ssh/id_ed25519", "private key\n", 0600, 1000, 1000);
  if (::chown((root / "home/user/.ssh").c_str(), 1000, 1000) < 0 || ::chmod((root / "home/user/.ssh").c_str(), 0700) < 0) {
    return 5;
  }
  cap_t caps = cap_from_text("cap_net_raw+ep");
  const int rc = caps ? cap_set_file((root / "usr/bin/ping").c_str(), caps) : -1;
  if (caps) cap_free(caps);
  if (rc < 0) {
    std::perror("cap_set_file");
    return 4;
  }
  return 0;
}

// ---- running things ----

std::string self_path() { return fs::read_symlink("/proc/self/exe").string(); }

sandbox::StagePolicy fixture_policy() {
  sandbox::StagePolicy policy = diskmaker_policy();
  policy.capabilities = {CAP_CHOWN, CAP_FOWNER, CAP_SETFCAP, CAP_DAC_OVERRIDE};
  return policy;
}

sandbox::testing::ProbeRun run_sandboxed(const sandbox::StagePolicy& policy, const std::string& host_binary,
                                         const char* inside, std::vector<std::string> argv, const fs::path& base) {
  argv.insert(argv.begin(), inside);
  sandbox::SandboxSpec spec = sandbox::make_spec(policy, inside, std::move(argv));
  spec.mounts.push_back({sandbox::MountKind::kDir, {}, "/run/oic", {}});
  spec.mounts.push_back({sandbox::MountKind::kBindRo, host_binary, inside, {}});
  spec.mounts.push_back({sandbox::MountKind::kBindRw, base.string(), base.string(), {}});
  return sandbox::testing::run(std::move(spec));
}

std::string host(std::vector<std::string> argv) {
  return run_tool_checked({.argv = std::move(argv)}, "check the disk");
}

bool host_ok(std::vector<std::string> argv) { return run_tool({.argv = std::move(argv)}).ok(); }

nlohmann::json request_json(const fs::path& base, std::uint64_t root_end) {
  auto part = [](std::string id, std::uint64_t start, std::uint64_t end, std::string fs, std::string label,
                 std::string mount, std::string uuid) {
    return nlohmann::json{{"id", id}, {"name", id}, {"start", std::to_string(start)},
                          {"end", std::to_string(end)}, {"fsType", fs}, {"fsLabel", label},
                          {"mountPoint", mount}, {"fsUuid", uuid}, {"flags", {"esp"}}};
  };
  nlohmann::json esp = part("esp", kMiB, kRootOffset, "fat32", "ESP", "/boot/efi", "1234-ABCD");
  esp["partUuid"] = "11111111-2222-3333-4444-555555555555";
  nlohmann::json root = part("root", kRootOffset, root_end, "ext4", "rootfs", "/", kRootUuid);
  root["flags"] = nlohmann::json::array();
  root["partUuid"] = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
  return {{"diskmaker",
           {{"rootDir", {{"path", (base / "root").string()}}},
            {"tableType", "gpt"},
            {"diskSize", std::to_string(64 * kMiB)},
            {"partitions", {esp, root}},
            {"artifacts", {{{"type", "raw"}, {"compression", "none"}}, {{"type", "qcow2"}, {"compression", "none"}}}},
            {"outputDir", {{"path", (base / "out").string()}}},
            {"outputName", "img"}}}};
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The host uid of a stage's root: the caller itself, or for root a
// subordinate uid (userns.hpp), never host uid 0.
uid_t host_uid_of_stage_root() {
  const std::optional<sandbox::HostOwner> owner = sandbox::stage_root_owner();
  return owner ? owner->uid : ::geteuid();
}

class DiskmakerSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    stage_ = std::getenv("OIC_DISKMAKER_STAGE") ? std::getenv("OIC_DISKMAKER_STAGE") : "";
    ASSERT_FALSE(stage_.empty()) << "OIC_DISKMAKER_STAGE must name the stage-diskmaker binary";
    std::string tmpl = "/var/tmp/oic-diskmaker-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "root");
    fs::create_directories(base_ / "out");
    // The workspace, tree and output directory a build binds read-write,
    // handed to the stage's root as the supervisor does (stage_launch.cpp):
    // run by root, the stage is a subordinate uid (a no-op for a user).
    for (const fs::path& writable : {base_, base_ / "root", base_ / "out"}) sandbox::give_to_stage_root(writable);
    const auto made = run_sandboxed(fixture_policy(), self_path(), kSelfInSandbox,
                                    {"--make-tree", (base_ / "root").string()}, base_);
    ASSERT_TRUE(made.succeeded()) << made.describe();
  }
  void TearDown() override {
    // The tree holds files of subordinate ids: remove it from inside the namespace.
    run_sandboxed(fixture_policy(), self_path(), kSelfInSandbox, {"--remove", base_.string()}, base_);
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  sandbox::testing::ProbeRun run_stage(const nlohmann::json& request) {
    const fs::path file = base_ / "request.json";
    std::ofstream(file) << request.dump(1);
    return run_sandboxed(diskmaker_policy(), stage_, kStageInSandbox, {"--request", file.string()}, base_);
  }

  std::string debugfs(const std::string& command) {
    return host({"debugfs", "-R", command, (base_ / "out/img.raw").string() + "?offset=" + std::to_string(kRootOffset)});
  }

  std::string stage_;
  fs::path base_;
};

TEST_F(DiskmakerSandbox, MakesAGptDiskWithAnEspAndAnExt4RootThatKeepsOwnersAndCapabilities) {
  const auto ran = run_stage(request_json(base_, 0));
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  const auto result = nlohmann::json::parse(ran.out)["diskmaker"];
  const fs::path disk = base_ / "out/img.raw";
  EXPECT_EQ(names_in(base_ / "out"), (std::vector<std::string>{"img.qcow2", "img.raw"}));
  EXPECT_EQ(result["artifacts"][0]["path"], "img.raw");
  EXPECT_EQ(result["artifacts"][0]["size"], std::to_string(64 * kMiB));
  EXPECT_EQ(result["artifacts"][0]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(result["partitions"][1]["fsUuid"], kRootUuid);

  // The table.
  const auto table = nlohmann::json::parse(host({"sfdisk", "--json", disk.string()}))["partitiontable"];
  EXPECT_EQ(table["label"], "gpt");
  ASSERT_EQ(table["partitions"].size(), 2u);
  EXPECT_EQ(table["partitions"][0]["start"], 2048);
  EXPECT_EQ(table["partitions"][0]["type"], "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
  EXPECT_EQ(table["partitions"][0]["uuid"], "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(table["partitions"][1]["start"], kRootOffset / 512);
  EXPECT_EQ(table["partitions"][1]["start"].get<std::uint64_t>() + table["partitions"][1]["size"].get<std::uint64_t>(),
            table["lastlba"].get<std::uint64_t>() + 1);
  EXPECT_EQ(table["partitions"][1]["name"], "root");

  // The root file system: owners, modes, setuid, capability; the ESP's files are not in it.
  EXPECT_THAT(debugfs("stat /etc/shadow"), HasSubstr("Mode:  0640"));
  EXPECT_THAT(debugfs("stat /etc/shadow"), ::testing::ContainsRegex("User: +0 +Group: +42 "));
  EXPECT_THAT(debugfs("stat /usr/bin/su"), HasSubstr("Mode:  04755"));
  EXPECT_THAT(debugfs("ea_list /usr/bin/ping"), HasSubstr("security.capability"));
  EXPECT_THAT(debugfs("cat /home/user/.ssh/id_ed25519"), HasSubstr("private key"));
  EXPECT_THAT(debugfs("stat /home/user/.ssh"), ::testing::ContainsRegex("User: +1000 +Group: +1000 "));
  const std::string efi_dir = debugfs("ls -p /boot/efi");
  EXPECT_THAT(efi_dir, HasSubstr("/.//"));
  EXPECT_THAT(efi_dir, ::testing::Not(HasSubstr("EFI")));
  EXPECT_THAT(host({"blkid", "-p", "-O", std::to_string(kRootOffset), disk.string()}),
              HasSubstr(std::string("UUID=\"") + kRootUuid + "\""));
  EXPECT_TRUE(host_ok({"e2fsck", "-fn", disk.string() + "?offset=" + std::to_string(kRootOffset)}));

  // The ESP.
  const std::string esp = disk.string() + "@@" + std::to_string(kMiB);
  EXPECT_THAT(host({"mdir", "-i", esp, "::/EFI/BOOT"}), HasSubstr("BOOTX64  EFI"));
  EXPECT_THAT(host({"mtype", "-i", esp, "::/loader/loader.conf"}), HasSubstr("timeout 3"));
  EXPECT_THAT(host({"blkid", "-p", "-O", std::to_string(kMiB), disk.string()}), HasSubstr("UUID=\"1234-ABCD\""));

  // The qcow2 holds the same disk; the tree is whole again; no work files are left.
  EXPECT_TRUE(host_ok({"qemu-img", "compare", "-q", "-f", "raw", "-F", "qcow2", disk.string(),
                       (base_ / "out/img.qcow2").string()}));
  EXPECT_TRUE(fs::exists(base_ / "root/boot/efi/EFI/BOOT/BOOTX64.EFI"));
  // The disk is the stage root's on the host: run by root, not host root's.
  struct stat written {};
  ASSERT_EQ(::stat(disk.c_str(), &written), 0);
  EXPECT_EQ(written.st_uid, host_uid_of_stage_root());
}

// dm-verity: "/" (36-56 MiB) and its hash tree (56 MiB to the end) are what
// veritysetup verify accepts with the returned root hash, which the ESP's
// UKI now carries; a changed byte of "/" is caught.
TEST_F(DiskmakerSandbox, MakesAVerityRootWhoseHashTheUkiOnTheEspCarries) {
  nlohmann::json request = request_json(base_, 56 * kMiB);
  request["diskmaker"]["partitions"].push_back({{"id", "roothashmap"}, {"start", std::to_string(56 * kMiB)},
                                                {"end", "0"}, {"fsType", "none"}, {"mountPoint", "none"},
                                                {"partUuid", "12345678-9abc-4def-8123-456789abcdef"}});
  request["diskmaker"]["verity"] = {{"dataPartitionId", "root"}, {"hashPartitionId", "roothashmap"}};
  const auto ran = run_stage(request);
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  const std::string root_hash = nlohmann::json::parse(ran.out)["diskmaker"]["rootHash"];
  ASSERT_EQ(root_hash.size(), 64u) << ran.out;

  const fs::path disk = base_ / "out/img.raw";
  const fs::path data = base_ / "data.img", hash = base_ / "hash.img";
  host({"dd", "if=" + disk.string(), "of=" + data.string(), "bs=1M", "skip=36", "count=20", "status=none"});
  host({"dd", "if=" + disk.string(), "of=" + hash.string(), "bs=1M", "skip=56", "status=none"});
  EXPECT_TRUE(host_ok({"veritysetup", "verify", data.string(), hash.string(), root_hash}));
  EXPECT_THAT(debugfs("stat /usr/bin/su"), HasSubstr("Mode:  04755"));
  const std::string esp = disk.string() + "@@" + std::to_string(kMiB);
  EXPECT_THAT(host({"mtype", "-i", esp, "::/EFI/Linux/linux.efi"}), HasSubstr("roothash=" + root_hash + " ro"));

  // One byte of "/" changed: the hash tree no longer matches.
  {
    base::UniqueFd fd(::open(data.c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    const char flipped = 0x5a;
    ASSERT_EQ(::pwrite(fd.get(), &flipped, 1, 8 * kMiB + 17), 1);
  }
  EXPECT_FALSE(host_ok({"veritysetup", "verify", data.string(), hash.string(), root_hash}));
}

// Secure Boot's two runs: phase partitions leaves the partial disk and the
// ESP's files (root hash in the UKI) in .img.esp/esp/ and no artifact; what
// is changed there (as signing does) is what phase finish puts on the ESP,
// and the disk is then as a whole run makes it: the table, "/" and its hash
// tree verified with the returned root hash, the ESP's files.
TEST_F(DiskmakerSandbox, MakesTheDiskInTwoPhasesWithTheEspFilesChangedBetween) {
  nlohmann::json request = request_json(base_, 56 * kMiB);
  request["diskmaker"]["partitions"].push_back({{"id", "roothashmap"}, {"start", std::to_string(56 * kMiB)},
                                                {"end", "0"}, {"fsType", "none"}, {"mountPoint", "none"},
                                                {"partUuid", "12345678-9abc-4def-8123-456789abcdef"}});
  request["diskmaker"]["verity"] = {{"dataPartitionId", "root"}, {"hashPartitionId", "roothashmap"}};
  request["diskmaker"]["phase"] = "partitions";
  const auto first = run_stage(request);
  ASSERT_TRUE(first.succeeded()) << first.describe();
  const auto result = nlohmann::json::parse(first.out)["diskmaker"];
  const std::string root_hash = result["rootHash"];
  ASSERT_EQ(root_hash.size(), 64u) << first.out;
  EXPECT_TRUE(result["artifacts"].empty());
  EXPECT_EQ(names_in(base_ / "out"), (std::vector<std::string>{".img.esp", ".img.raw.partial"}));
  const fs::path copy = base_ / "out/.img.esp/esp";
  EXPECT_EQ(names_in(copy), (std::vector<std::string>{"EFI", "loader"}));
  std::ifstream uki(copy / "EFI/Linux/linux.efi");
  EXPECT_THAT(std::string(std::istreambuf_iterator<char>(uki), {}), HasSubstr("roothash=" + root_hash + " ro"));
  std::ofstream(copy / "EFI/BOOT/BOOTX64.EFI", std::ios::app) << "signed\n";

  request["diskmaker"]["phase"] = "finish";
  const auto second = run_stage(request);
  ASSERT_TRUE(second.succeeded()) << second.describe();
  EXPECT_EQ(names_in(base_ / "out"), (std::vector<std::string>{"img.qcow2", "img.raw"}));
  const fs::path disk = base_ / "out/img.raw";
  const std::string esp = disk.string() + "@@" + std::to_string(kMiB);
  EXPECT_THAT(host({"mtype", "-i", esp, "::/EFI/BOOT/BOOTX64.EFI"}), HasSubstr("MZ fake efi\nsigned"));
  EXPECT_THAT(host({"mtype", "-i", esp, "::/EFI/Linux/linux.efi"}), HasSubstr("roothash=" + root_hash + " ro"));
  EXPECT_THAT(host({"mtype", "-i", esp, "::/loader/loader.conf"}), HasSubstr("timeout 3"));
  EXPECT_THAT(host({"blkid", "-p", "-O", std::to_string(kMiB), disk.string()}), HasSubstr("UUID=\"1234-ABCD\""));
  const auto table = nlohmann::json::parse(host({"sfdisk", "--json", disk.string()}))["partitiontable"];
  ASSERT_EQ(table["partitions"].size(), 3u);
  EXPECT_EQ(table["partitions"][0]["uuid"], "11111111-2222-3333-4444-555555555555");
  const fs::path data = base_ / "data.img", hash = base_ / "hash.img";
  host({"dd", "if=" + disk.string(), "of=" + data.string(), "bs=1M", "skip=36", "count=20", "status=none"});
  host({"dd", "if=" + disk.string(), "of=" + hash.string(), "bs=1M", "skip=56", "status=none"});
  EXPECT_TRUE(host_ok({"veritysetup", "verify", data.string(), hash.string(), root_hash}));
  EXPECT_THAT(debugfs("stat /usr/bin/su"), HasSubstr("Mode:  04755"));
  EXPECT_TRUE(host_ok({"e2fsck", "-fn", disk.string() + "?offset=" + std::to_string(kRootOffset)}));
}

TEST_F(DiskmakerSandbox, RefusesToFinishADiskThatNoFirstPhaseLeft) {
  nlohmann::json request = request_json(base_, 0);
  request["diskmaker"]["phase"] = "finish";
  const auto ran = run_stage(request);
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("the first run's '.img.raw.partial' cannot be opened"));
  EXPECT_TRUE(names_in(base_ / "out").empty());
}

TEST_F(DiskmakerSandbox, RefusesAVerityRootWithoutTheUkiPlaceholderOnTheEsp) {
  nlohmann::json request = request_json(base_, 56 * kMiB);
  request["diskmaker"]["partitions"].push_back({{"id", "roothashmap"}, {"start", std::to_string(56 * kMiB)},
                                                {"end", "0"}, {"fsType", "none"}, {"mountPoint", "none"},
                                                {"partUuid", "12345678-9abc-4def-8123-456789abcdef"}});
  request["diskmaker"]["verity"] = {{"dataPartitionId", "root"}, {"hashPartitionId", "roothashmap"}};
  fs::remove(base_ / "root/boot/efi/EFI/Linux/linux.efi");
  const auto ran = run_stage(request);
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("no file there holds the root hash placeholder"));
  EXPECT_TRUE(names_in(base_ / "out").empty());
}

TEST_F(DiskmakerSandbox, MakesEveryArtifactKindAndASwapPartition) {
  nlohmann::json request = request_json(base_, 56 * kMiB);
  request["diskmaker"]["partitions"].push_back(
      {{"id", "swap"}, {"start", std::to_string(56 * kMiB)}, {"end", "0"}, {"fsType", "swap"},
       {"fsLabel", "swap"}, {"mountPoint", "none"}, {"fsUuid", "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"}});
  nlohmann::json artifacts = nlohmann::json::array();
  for (const auto& [type, compression] : std::vector<std::pair<std::string, std::string>>{
           {"raw", "none"}, {"raw", "gz"}, {"raw", "xz"}, {"raw", "zstd"}, {"qcow2", "xz"},
           {"vhd", "none"}, {"vhdx", "none"}, {"vmdk", "none"}, {"vdi", "none"}}) {
    artifacts.push_back({{"type", type}, {"compression", compression}});
  }
  request["diskmaker"]["artifacts"] = artifacts;
  const auto ran = run_stage(request);
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  EXPECT_EQ(names_in(base_ / "out"),
            (std::vector<std::string>{"img.qcow2.xz", "img.raw", "img.raw.gz", "img.raw.xz", "img.raw.zstd",
                                      "img.vdi", "img.vhd", "img.vhdx", "img.vmdk"}));
  const fs::path disk = base_ / "out/img.raw";
  EXPECT_THAT(host({"blkid", "-p", "-O", std::to_string(56 * kMiB), disk.string()}),
              HasSubstr("UUID=\"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9\""));
  EXPECT_THAT(host({"blkid", "-p", "-O", std::to_string(56 * kMiB), disk.string()}), HasSubstr("TYPE=\"swap\""));

  // Each compressed file holds the disk; each converted image compares equal to it.
  const fs::path unpacked = base_ / "unpacked";
  auto unpack = [&](std::vector<std::string> argv) {
    base::UniqueFd out(::open(unpacked.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    run_tool_checked({.argv = std::move(argv), .stdout_fd = out.get()}, "unpack an artifact");
  };
  for (const auto& [tool, name] : std::vector<std::pair<std::string, std::string>>{
           {"gzip", "img.raw.gz"}, {"xz", "img.raw.xz"}, {"zstd", "img.raw.zstd"}}) {
    unpack({tool, "-d", "-c", (base_ / "out" / name).string()});
    EXPECT_TRUE(host_ok({"cmp", "-s", disk.string(), unpacked.string()})) << name;
  }
  unpack({"xz", "-d", "-c", (base_ / "out/img.qcow2.xz").string()});
  EXPECT_TRUE(host_ok({"qemu-img", "compare", "-q", "-f", "raw", "-F", "qcow2", disk.string(), unpacked.string()}));
  for (const auto& [format, name] : std::vector<std::pair<std::string, std::string>>{
           {"vpc", "img.vhd"}, {"vhdx", "img.vhdx"}, {"vmdk", "img.vmdk"}, {"vdi", "img.vdi"}}) {
    EXPECT_TRUE(host_ok({"qemu-img", "compare", "-q", "-f", "raw", "-F", format, disk.string(),
                         (base_ / "out" / name).string()})) << name;
  }
}

TEST_F(DiskmakerSandbox, LeavesNothingInTheOutputWhenAPartitionEndsBeyondTheDisk) {
  const auto ran = run_stage(request_json(base_, 128 * kMiB));
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("partition 'root': it ends at 128 MiB, beyond the last usable byte"));
  EXPECT_TRUE(names_in(base_ / "out").empty());
}

TEST_F(DiskmakerSandbox, LeavesNothingThatLooksFinishedWhenALateStepFails) {
  // qemu-img cannot write its output where a directory stands: the disk is
  // complete by then, and must go with everything else.
  fs::create_directories(base_ / "out/.img.qcow2.partial/blocker");
  const auto ran = run_stage(request_json(base_, 0));
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("convert the disk to qcow2"));
  EXPECT_EQ(names_in(base_ / "out"), (std::vector<std::string>{".img.qcow2.partial"}));
  EXPECT_TRUE(fs::exists(base_ / "root/boot/efi/EFI/BOOT/BOOTX64.EFI"));
}

TEST_F(DiskmakerSandbox, RejectsAnUnknownFileSystemBeforeWritingAnything) {
  nlohmann::json request = request_json(base_, 0);
  request["diskmaker"]["partitions"][1]["fsType"] = "btrfs";
  const auto ran = run_stage(request);
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("partition 'root': unknown fsType 'btrfs'"));
  EXPECT_TRUE(names_in(base_ / "out").empty());
}

}  // namespace
}  // namespace stage::diskmaker

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--make-tree") return stage::diskmaker::make_tree(argv[2]);
  if (argc == 3 && std::string_view(argv[1]) == "--remove") {
    std::error_code ignored;
    std::filesystem::remove_all(argv[2], ignored);
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return tests::support::run_all_tests();
}
