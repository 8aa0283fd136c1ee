// The real stage-inspector, sandboxed as `inspect` runs it (its policy, no
// network, only its binary and the image bound): it reads a disk made by
// hand and leaves it unchanged; hostile images (a link aimed at a host file,
// a garbage table, a huge file) end in clear errors with nothing of the host
// in the result. Run as an unprivileged user with an /etc/subuid range (or as root).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "sandbox/testing/probe_run.hpp"
#include "stages/inspector/policy.hpp"
#include "stages/inspector/test_disk.hpp"
#include "stages/inspector/test_rpmdb.hpp"
#include "tests/support/gtest_run.hpp"
#include "tests/support/temp_dir.hpp"

namespace stage::inspector {
namespace {

using namespace stage::inspector::testing;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kStageInSandbox = "/run/oic/stage-inspector";

class InspectorSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    stage_ = std::getenv("OIC_INSPECTOR_STAGE") ? std::getenv("OIC_INSPECTOR_STAGE") : "";
    ASSERT_FALSE(stage_.empty()) << "OIC_INSPECTOR_STAGE must name the stage-inspector binary";
  }

  fs::path tree() const { return dir_.path() / "tree"; }

  sandbox::testing::ProbeRun inspect(const fs::path& disk, bool list_files = false) {
    const nlohmann::json request = {{"inspector",
                                     {{"image", {{"path", disk.string()}}},
                                      {"imageName", disk.filename().string()},
                                      {"listFiles", list_files}}}};
    const fs::path file = dir_.path() / "request.json";
    write_file(file, request.dump(1));
    sandbox::SandboxSpec spec =
        sandbox::make_spec(inspector_policy(), kStageInSandbox, {kStageInSandbox, "--request", file.string()});
    spec.mounts.push_back({sandbox::MountKind::kDir, {}, "/run/oic", {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, stage_, kStageInSandbox, {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, file.string(), file.string(), {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, disk.string(), disk.string(), {}});
    return sandbox::testing::run(std::move(spec));
  }

  // The stage's other job: `qcow2` made raw into `raw` (an empty file, bound writable).
  sandbox::testing::ProbeRun convert(const fs::path& qcow2, const fs::path& raw) {
    { std::ofstream(raw, std::ios::trunc).close(); }
    const nlohmann::json request = {{"inspector",
                                     {{"image", {{"path", qcow2.string()}}},
                                      {"imageName", qcow2.filename().string()},
                                      {"convertQcow2", true},
                                      {"rawOutput", {{"path", raw.string()}}}}}};
    const fs::path file = dir_.path() / "convert.json";
    write_file(file, request.dump(1));
    sandbox::SandboxSpec spec =
        sandbox::make_spec(inspector_policy(), kStageInSandbox, {kStageInSandbox, "--request", file.string()});
    spec.mounts.push_back({sandbox::MountKind::kDir, {}, "/run/oic", {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, stage_, kStageInSandbox, {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, file.string(), file.string(), {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRo, qcow2.string(), qcow2.string(), {}});
    spec.mounts.push_back({sandbox::MountKind::kBindRw, raw.string(), raw.string(), {}});
    return sandbox::testing::run(std::move(spec));
  }

  fs::path qcow2_of(const fs::path& raw, const std::vector<std::string>& options = {}) {
    const fs::path out = fs::path(raw).replace_extension(".qcow2");
    std::vector<std::string> argv = {"/usr/bin/qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {raw.string(), out.string()});
    run_ok(argv, dir_.path() / "scratch");
    return out;
  }

  void SkipWithoutQemuImg() {
    if (!fs::exists("/usr/bin/qemu-img")) GTEST_SKIP() << "qemu-img is not installed (Debian package qemu-utils)";
  }

  std::string stage_;
  tests::TempDir dir_{"oic-inspector-sandbox", "/var/tmp"};  // not /tmp: the sandbox has its own
};

TEST_F(InspectorSandbox, ReadsADiskInsideItsSandboxAndLeavesItUnchanged) {
  fill_debian_tree(tree());
  fill_esp(dir_.path() / "esp");
  const fs::path disk = make_disk(dir_.path());
  const std::string before = tests::support::read_whole_file(disk);
  const auto ran = inspect(disk);
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  const nlohmann::json r = nlohmann::json::parse(ran.out)["inspector"];
  EXPECT_EQ(r["table"]["id"], kDiskGuid);
  ASSERT_EQ(r["partitions"].size(), 2u);
  EXPECT_EQ(r["partitions"][0]["fsType"], "vfat");
  EXPECT_EQ(r["partitions"][1]["fsUuid"], kRootFsUuid);
  EXPECT_EQ(r["rootPartition"], 2);
  EXPECT_EQ(r["osRelease"][3]["value"], "debian");
  EXPECT_EQ(r["packages"].size(), 2u);
  EXPECT_EQ(r["users"][1]["name"], "debian");
  EXPECT_EQ(r["groups"][1]["members"][0], "debian");
  EXPECT_EQ(r["bootFiles"][0]["path"], "/EFI/BOOT/BOOTX64.EFI");
  EXPECT_EQ(r["kernelEntries"][0]["verityRootHash"], "abcd");  // the UKI's
  EXPECT_EQ(r["kernelEntries"][1]["verityRootHash"], "00ff");  // the entry's
  EXPECT_EQ(r["ukis"][0]["sections"].size(), 3u);
  EXPECT_TRUE(tests::support::read_whole_file(disk) == before) << "the image changed";
}

// compare's file manifest: every file hashed inside the sandbox, a link to
// a host file only its target's name, a file past the hashing limit (a hole
// of 1 GiB) listed without a hash; the image is left unchanged.
TEST_F(InspectorSandbox, ListsAndHashesTheFilesInsideItsSandbox) {
  const fs::path secret = dir_.path() / "host-secret";
  write_file(secret, "HOST-SECRET-LINE\n");
  fill_debian_tree(tree());
  fs::create_symlink(secret, tree() / "etc/host-link");
  { std::ofstream(tree() / "var/big", std::ios::trunc).close(); }
  fs::resize_file(tree() / "var/big", 1ULL << 30);
  const fs::path disk = make_disk(dir_.path());
  const std::string before = tests::support::read_whole_file(disk);
  const auto ran = inspect(disk, true);
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  EXPECT_THAT(ran.out, Not(HasSubstr("HOST-SECRET")));
  std::map<std::string, nlohmann::json> files;
  const nlohmann::json result = nlohmann::json::parse(ran.out);
  for (const auto& f : result["inspector"]["files"]) {
    files[std::to_string(f["partition"].get<int>()) + ":" + f["path"].get<std::string>()] = f;
  }
  ASSERT_EQ(files.count("2:/etc/passwd"), 1u) << ran.out.substr(0, 3000);
  EXPECT_EQ(files["2:/etc/passwd"]["sha256"].size(), 32u);
  EXPECT_EQ(files["2:/etc/host-link"]["linkTarget"], secret.string());
  EXPECT_EQ(files["2:/var/big"]["size"], std::to_string(1ULL << 30));  // capnp's JSON writes UInt64 as text
  EXPECT_EQ(files["2:/var/big"]["sha256"].size(), 0u) << "past 512 MiB: not hashed";
  EXPECT_TRUE(tests::support::read_whole_file(disk) == before) << "the image changed";
}

// The image's /etc/os-release names a file of the host by its absolute path
// (and the image's passwd climbs to it): inside the stage only the image's
// file system is read, so neither becomes part of the report.
TEST_F(InspectorSandbox, ALinkToAHostFileReadsNothingOfTheHost) {
  const fs::path secret = dir_.path() / "host-secret";
  write_file(secret, "ID=HOST-SECRET-LINE\n");
  fill_debian_tree(tree());
  fs::remove(tree() / "etc/os-release");
  fs::create_symlink(secret, tree() / "etc/os-release");
  fs::remove(tree() / "etc/passwd");
  fs::create_symlink("../../../../../../.." + secret.string(), tree() / "etc/passwd");
  const auto ran = inspect(make_disk(dir_.path()));
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  EXPECT_THAT(ran.out, Not(HasSubstr("HOST-SECRET")));
  const nlohmann::json r = nlohmann::json::parse(ran.out)["inspector"];
  // The dangling link counts as no /etc/os-release: /usr/lib/os-release, the image's own, is read.
  EXPECT_EQ(r["osRelease"][3]["value"], "debian");
  EXPECT_EQ(r.value("users", nlohmann::json::array()).size(), 0u);
}

TEST_F(InspectorSandbox, AGarbageTableIsAClearError) {
  const fs::path disk = dir_.path() / "garbage.raw";
  std::string bytes(1 << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919 + 13) % 251);
  write_file(disk, bytes);
  const auto ran = inspect(disk);
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("Failed to read a partition table in 'garbage.raw': sfdisk exited with status 1"));
  EXPECT_TRUE(ran.out.empty()) << ran.out;
}

// An RPM system's rpm database is read from memory under the stage's
// policy: SQLite opens no file and writes nothing.
TEST_F(InspectorSandbox, ReadsAnRpmDatabaseInsideItsSandbox) {
  fill_debian_tree(tree());
  fs::remove_all(tree() / "var/lib/dpkg");
  write_file(tree() / "var/lib/rpm/rpmdb.sqlite", make_probe_rpmdb(dir_.path() / "rpm"));
  const auto ran = inspect(make_disk(dir_.path()));
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  const nlohmann::json packages = nlohmann::json::parse(ran.out)["inspector"]["packages"];
  ASSERT_EQ(packages.size(), 1u) << packages.dump();
  EXPECT_EQ(packages[0]["name"], "oic-probe");
  EXPECT_EQ(packages[0]["version"], "2:1.5-3");
  EXPECT_EQ(packages[0]["architecture"], "noarch");
}

TEST_F(InspectorSandbox, AHugeFileIsAClearError) {
  fill_debian_tree(tree());
  { std::ofstream status(tree() / "var/lib/dpkg/status", std::ios::trunc); }
  fs::resize_file(tree() / "var/lib/dpkg/status", 1ULL << 40);  // 1 TiB of hole
  const auto ran = inspect(make_disk(dir_.path()));
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("/var/lib/dpkg/status in partition 2 of 'disk.raw': it holds 1099511627776 bytes"));
}

// A compressed qcow2 of the hand-made disk, as the build writes one, made
// raw inside the sandbox: the same bytes as the disk (holes where it had
// zeroes), and the same report; the qcow2 is left unchanged.
TEST_F(InspectorSandbox, ConvertsAQcow2ImageToTheSameRawDisk) {
  SkipWithoutQemuImg();
  if (::testing::Test::IsSkipped()) return;
  fill_debian_tree(tree());
  fill_esp(dir_.path() / "esp");
  const fs::path disk = make_disk(dir_.path());
  const fs::path qcow2 = qcow2_of(disk, {"-c"});
  const std::string before = tests::support::read_whole_file(qcow2);
  const fs::path raw = dir_.path() / "converted.raw";
  const auto converted = convert(qcow2, raw);
  ASSERT_TRUE(converted.succeeded()) << converted.describe();
  EXPECT_EQ(nlohmann::json::parse(converted.out)["inspector"]["virtualSize"], std::to_string(kDiskSize));
  EXPECT_TRUE(tests::support::read_whole_file(raw) == tests::support::read_whole_file(disk)) << "the raw bytes differ";
  EXPECT_TRUE(tests::support::read_whole_file(qcow2) == before) << "the qcow2 image changed";
  struct stat st {};
  ASSERT_EQ(::stat(raw.c_str(), &st), 0);
  EXPECT_LT(static_cast<std::uint64_t>(st.st_blocks) * 512, kDiskSize / 2) << "the raw image is not sparse";
  const auto a = inspect(disk);
  const auto b = inspect(raw);
  ASSERT_TRUE(a.succeeded() && b.succeeded()) << a.describe() << b.describe();
  // The stage's steps carry its timings; what it read must be the same.
  EXPECT_EQ(nlohmann::json::parse(a.out)["inspector"], nlohmann::json::parse(b.out)["inspector"]);
}

TEST_F(InspectorSandbox, RefusesAQcow2ImageWithABackingFile) {
  SkipWithoutQemuImg();
  if (::testing::Test::IsSkipped()) return;
  const fs::path base = dir_.path() / "base.qcow2";
  run_ok({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", base.string(), "64M"}, dir_.path() / "scratch");
  const fs::path overlay = dir_.path() / "overlay.qcow2";
  run_ok({"/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base.string(), overlay.string()},
         dir_.path() / "scratch");
  const auto ran = convert(overlay, dir_.path() / "overlay.raw");
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("Failed to read the qcow2 image 'overlay.qcow2': it has a backing file ('" +
                                 base.string() + "')"));
  EXPECT_EQ(fs::file_size(dir_.path() / "overlay.raw"), 0u);
}

// Cut after its first 64 KiB (the header and tables, no data), and garbage
// after a qcow2 magic: each a clear error naming the image.
TEST_F(InspectorSandbox, RefusesATruncatedOrGarbageQcow2Image) {
  SkipWithoutQemuImg();
  if (::testing::Test::IsSkipped()) return;
  fill_debian_tree(tree());
  const fs::path qcow2 = qcow2_of(make_disk(dir_.path()));
  const fs::path cut = dir_.path() / "cut.qcow2";
  fs::copy_file(qcow2, cut);
  fs::resize_file(cut, 64 * 1024);
  const auto ran = convert(cut, dir_.path() / "cut.raw");
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("Failed to read the qcow2 image 'cut.qcow2': it is truncated or damaged: qemu-img check finds"));
  const fs::path garbage = dir_.path() / "garbage.qcow2";
  std::string bytes = std::string("QFI\xfb", 4);
  for (std::size_t i = 0; i < 4096; ++i) bytes += static_cast<char>((i * 7919 + 13) % 251);
  write_file(garbage, bytes);
  const auto bad = convert(garbage, dir_.path() / "garbage.raw");
  EXPECT_FALSE(bad.succeeded());
  EXPECT_THAT(bad.err, HasSubstr("Failed to read the qcow2 image 'garbage.qcow2': qemu-img info exited with status 1"));
}

TEST_F(InspectorSandbox, ReadsAnIsoMediumInsideItsSandboxAndLeavesItUnchanged) {
  const fs::path iso = make_iso(dir_.path(), kIsoManifest);
  const std::string before = tests::support::read_whole_file(iso);
  const auto ran = inspect(iso);
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  const nlohmann::json r = nlohmann::json::parse(ran.out)["inspector"];
  EXPECT_EQ(r["table"]["label"], "iso9660");
  EXPECT_EQ(r["table"]["id"], "OIC_TEST_ISO");
  EXPECT_EQ(r["table"]["sectorSize"], 2048);
  EXPECT_TRUE(r["partitions"].empty());
  ASSERT_EQ(r["packages"].size(), 2u);
  EXPECT_EQ(r["packages"][0]["name"], "bash");
  EXPECT_EQ(r["packages"][1]["version"], "1:1.2.13");
  ASSERT_EQ(r["bootConfigs"].size(), 1u);
  EXPECT_EQ(r["bootConfigs"][0]["path"], "/boot/grub/grub.cfg");
  ASSERT_EQ(r["kernelEntries"].size(), 1u);
  EXPECT_EQ(r["kernelEntries"][0]["kernel"], "/images/vmlinuz");
  EXPECT_EQ(r["kernelEntries"][0]["options"], "console=ttyS0 quiet");
  ASSERT_EQ(r["bootFiles"].size(), 1u);
  EXPECT_EQ(r["bootFiles"][0]["path"], "/EFI/BOOT/BOOTX64.EFI");
  EXPECT_TRUE(tests::support::read_whole_file(iso) == before) << "the medium changed";
}

TEST_F(InspectorSandbox, ListsAndHashesTheFilesOfAnIso) {
  const fs::path iso = make_iso(dir_.path(), kIsoManifest);
  const auto ran = inspect(iso, true);
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  std::map<std::string, nlohmann::json> files;
  const nlohmann::json result = nlohmann::json::parse(ran.out);
  for (const auto& f : result["inspector"]["files"]) files[f["path"].get<std::string>()] = f;
  ASSERT_TRUE(files.contains("/install/manifest.json")) << ran.out;
  EXPECT_EQ(files["/install/manifest.json"]["type"], "regular");
  EXPECT_EQ(files["/install/manifest.json"]["size"], std::to_string(std::string(kIsoManifest).size()));
  std::string hex;  // capnp's JSON writes the Data as its bytes
  for (const auto& byte : files["/images/vmlinuz"]["sha256"]) {
    hex += "0123456789abcdef"[byte.get<int>() >> 4];
    hex += "0123456789abcdef"[byte.get<int>() & 15];
  }
  EXPECT_EQ(hex, "6923dd1bc0460082c5d55a831908c24a282860b7f1cd6c2b79cf1bc8857c639c");  // sha256 of "kernel"
  EXPECT_EQ(files["/vmlinuz"]["type"], "symlink");
  EXPECT_EQ(files["/vmlinuz"]["linkTarget"], "images/vmlinuz");
  EXPECT_EQ(files["/boot"]["type"], "directory");
}

TEST_F(InspectorSandbox, AnIsoManifestNamingALockfileOffTheMediumIsAClearError) {
  const auto outside = inspect(make_iso(dir_.path(), R"({"lockfile": {"path": "../etc/passwd"}})"));
  EXPECT_FALSE(outside.succeeded());
  EXPECT_THAT(outside.err, HasSubstr("lockfile.path '../etc/passwd' is not a plain path of the medium"));
  fs::remove_all(dir_.path() / "iso-tree");
  fs::remove(dir_.path() / "medium.iso");
  const auto missing = inspect(make_iso(dir_.path(), R"({"lockfile": {"path": "install/other.lock.json"}})"));
  EXPECT_FALSE(missing.succeeded());
  EXPECT_THAT(missing.err, HasSubstr("names the lockfile install/other.lock.json, which is not on the medium"));
}

}  // namespace
}  // namespace stage::inspector
