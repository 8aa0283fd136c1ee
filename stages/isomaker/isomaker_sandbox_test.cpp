// The real stage-isomaker, sandboxed as in a build, on a small tree made in
// the same kind of user namespace (owners 0:42 and 1000:1000 are real inside
// it, a file only its owner may read). The initrd is read back with
// libarchive from outside. MakeIso needs a tree with GRUB: the bad-input
// cases run here on a tree without it; OIC_ISOMAKER_GRUB_TREE (a root tree
// with grub-mkimage and /usr/lib/grub/x86_64-efi) adds a whole ISO.
// Run as an unprivileged user with an /etc/subuid range (or as root).
#include <archive.h>
#include <archive_entry.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "sandbox/stage_owner.hpp"
#include "sandbox/stage_policy.hpp"
#include "sandbox/testing/probe_run.hpp"
#include "stages/diskmaker/tools.hpp"
#include "stages/isomaker/policy.hpp"
#include "tests/support/gtest_run.hpp"

namespace stage::isomaker {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kStageInSandbox = "/run/oic/stage-isomaker";
constexpr const char* kSelfInSandbox = "/run/oic/fixture";

// ---- the tree, made inside the user namespace by this binary itself ----

int write_file(const fs::path& path, const std::string& text, mode_t mode, uid_t uid, gid_t gid) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return ::chown(path.c_str(), uid, gid) < 0 || ::chmod(path.c_str(), mode) < 0 ? 3 : 0;
}

int make_tree(const fs::path& root) {
  int rc = write_file(root / "etc/shadow", "root:*:19000:0:99999:7:::\n", 0640, 0, 42);
  rc |= write_file(root / "usr/sbin/init", "#!/bin/sh\n", 0755, 0, 0);
  rc |= write_file(root / "boot/vmlinuz-6.1.0-13-amd64", "not really a kernel\n", 0644, 0, 0);
  rc |= write_file(root / "home/user/.ssh/id_ed25519", "private key\n", 0600, 1000, 1000);
  rc |= write_file(root / "var/cache/apt/pkgcache.bin", "cache\n", 0644, 0, 0);
  if (::chown((root / "home/user/.ssh").c_str(), 1000, 1000) < 0 || ::chmod((root / "home/user/.ssh").c_str(), 0700) < 0) {
    rc |= 5;
  }
  std::error_code ec;
  fs::create_symlink("usr/sbin", root / "sbin", ec);
  return rc | (ec ? 6 : 0);
}

// ---- running things ----

std::string self_path() { return fs::read_symlink("/proc/self/exe").string(); }

sandbox::StagePolicy fixture_policy() {
  sandbox::StagePolicy policy = isomaker_policy();
  policy.capabilities = {CAP_CHOWN, CAP_FOWNER, CAP_DAC_OVERRIDE};
  return policy;
}

sandbox::testing::ProbeRun run_sandboxed(const sandbox::StagePolicy& policy, const std::string& host_binary,
                                         const char* inside, std::vector<std::string> argv, const fs::path& base,
                                         const std::vector<fs::path>& read_only = {}) {
  argv.insert(argv.begin(), inside);
  sandbox::SandboxSpec spec = sandbox::make_spec(policy, inside, std::move(argv));
  spec.mounts.push_back({sandbox::MountKind::kDir, {}, "/run/oic", {}});
  spec.mounts.push_back({sandbox::MountKind::kBindRo, host_binary, inside, {}});
  spec.mounts.push_back({sandbox::MountKind::kBindRw, base.string(), base.string(), {}});
  for (const auto& path : read_only) spec.mounts.push_back({sandbox::MountKind::kBindRo, path.string(), path.string(), {}});
  return sandbox::testing::run(std::move(spec));
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

struct Member {
  mode_t mode;
  std::int64_t uid;
  std::int64_t gid;
  std::string symlink;
  std::string data;
};

std::map<std::string, Member> read_cpio(const fs::path& file) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_cpio(a);
  EXPECT_EQ(archive_read_open_filename(a, file.c_str(), 10240), ARCHIVE_OK);
  std::map<std::string, Member> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Member m{archive_entry_mode(e), archive_entry_uid(e), archive_entry_gid(e),
             archive_entry_symlink(e) ? archive_entry_symlink(e) : "", ""};
    char buffer[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buffer, sizeof buffer)) > 0;) m.data.append(buffer, n);
    out[archive_entry_pathname(e)] = m;
  }
  archive_read_free(a);
  return out;
}

class IsomakerSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    stage_ = std::getenv("OIC_ISOMAKER_STAGE") ? std::getenv("OIC_ISOMAKER_STAGE") : "";
    ASSERT_FALSE(stage_.empty()) << "OIC_ISOMAKER_STAGE must name the stage-isomaker binary";
    std::string tmpl = "/var/tmp/oic-isomaker-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "root");
    fs::create_directories(base_ / "out");
    for (const fs::path& writable : {base_, base_ / "root", base_ / "out"}) sandbox::give_to_stage_root(writable);
    const auto made = run_sandboxed(fixture_policy(), self_path(), kSelfInSandbox,
                                    {"--make-tree", (base_ / "root").string()}, base_);
    ASSERT_TRUE(made.succeeded()) << made.describe();
  }
  void TearDown() override {
    run_sandboxed(fixture_policy(), self_path(), kSelfInSandbox, {"--remove", base_.string()}, base_);
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  sandbox::testing::ProbeRun run_stage(const nlohmann::json& request, const std::vector<fs::path>& read_only = {}) {
    const fs::path file = base_ / "request.json";
    std::ofstream(file) << request.dump(1);
    return run_sandboxed(isomaker_policy(), stage_, kStageInSandbox, {"--request", file.string()}, base_, read_only);
  }

  nlohmann::json initrd_request(const std::string& kernel) const {
    return {{"isomaker",
             {{"makeInitrd",
               {{"treeDir", {{"path", (base_ / "root").string()}}},
                {"excludedPaths", {"/var/cache"}},
                {"compression", "zstd"},
                {"clampTime", "1700000000"},
                {"kernelPath", kernel},
                {"outputDir", {{"path", (base_ / "out").string()}, {"writable", true}}},
                {"outputName", "live-1.0.img"}}}}}};
  }

  nlohmann::json iso_request(const fs::path& tree) const {
    return {{"isomaker",
             {{"makeIso",
               {{"treeDir", {{"path", tree.string()}}},
                {"kernel", {{"path", (base_ / "root/boot/vmlinuz-6.1.0-13-amd64").string()}}},
                {"initrd", {{"path", (base_ / "root/etc/shadow").string()}}},
                {"extraFiles", {{{"source", {{"path", (base_ / "request.json").string()}}},
                                 {"isoPath", "/install/manifest.json"}}}},
                {"menu", {{"title", "Install"}, {"cmdline", "console=ttyS0"}}},
                {"clampTime", "1700000000"},
                {"outputDir", {{"path", (base_ / "out").string()}, {"writable", true}}},
                {"outputName", "x-1.0.iso"}}}}}};
  }

  std::string stage_;
  fs::path base_;
};

TEST_F(IsomakerSandbox, MakesAnInitrdWithTheOwnersOfTheNamespaceAndCopiesTheKernel) {
  const auto ran = run_stage(initrd_request("/boot/vmlinuz-6.1.0-13-amd64"));
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  const auto result = nlohmann::json::parse(ran.out)["isomaker"]["makeInitrd"];
  EXPECT_EQ(result["initrd"]["name"], "live-1.0.img");
  EXPECT_EQ(result["initrd"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(result["kernel"]["name"], "vmlinuz-6.1.0-13-amd64");
  EXPECT_EQ(result["kernel"]["size"], "20");
  EXPECT_EQ(names_in(base_ / "out"), (std::vector<std::string>{"live-1.0.img", "vmlinuz-6.1.0-13-amd64"}));
  EXPECT_EQ(result["initrd"]["size"], std::to_string(fs::file_size(base_ / "out/live-1.0.img")));

  const auto members = read_cpio(base_ / "out/live-1.0.img");
  ASSERT_TRUE(members.count("etc/shadow"));
  EXPECT_EQ(members.at("etc/shadow").mode, S_IFREG | 0640);
  EXPECT_EQ(members.at("etc/shadow").uid, 0);
  EXPECT_EQ(members.at("etc/shadow").gid, 42);
  ASSERT_TRUE(members.count("home/user/.ssh/id_ed25519"));
  EXPECT_EQ(members.at("home/user/.ssh/id_ed25519").uid, 1000);
  EXPECT_EQ(members.at("home/user/.ssh/id_ed25519").data, "private key\n");
  EXPECT_EQ(members.at("home/user/.ssh").mode, S_IFDIR | 0700);
  ASSERT_TRUE(members.count("init"));
  EXPECT_EQ(members.at("init").symlink, "sbin/init");
  EXPECT_EQ(members.count("var/cache"), 0u);
  EXPECT_EQ(members.count("var"), 1u);
}

TEST_F(IsomakerSandbox, LeavesNothingWhenTheKernelIsMissing) {
  const auto ran = run_stage(initrd_request("/boot/vmlinuz-missing"));
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("kernelPath '/boot/vmlinuz-missing' does not exist in the tree"));
  EXPECT_TRUE(names_in(base_ / "out").empty());
}

TEST_F(IsomakerSandbox, IsoFromATreeWithoutGrubIsAClearErrorAndLeavesNothing) {
  const auto ran = run_stage(iso_request(base_ / "root"));
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("the live tree has no GRUB EFI modules directory at /usr/lib/grub/x86_64-efi"));
  EXPECT_TRUE(names_in(base_ / "out").empty());
}

TEST_F(IsomakerSandbox, IsoWithAMissingInputNamesIt) {
  nlohmann::json request = iso_request(base_ / "root");
  request["isomaker"]["makeIso"]["kernel"]["path"] = (base_ / "root/boot/vmlinuz-missing").string();
  const auto ran = run_stage(request);
  EXPECT_FALSE(ran.succeeded());
  EXPECT_THAT(ran.err, HasSubstr("the kernel '" + (base_ / "root/boot/vmlinuz-missing").string() + "' does not exist"));
  EXPECT_TRUE(names_in(base_ / "out").empty());
}

// A whole ISO from a tree with GRUB (a build environment's tree): UEFI, and
// BIOS when the tree has the i386-pc modules.
TEST_F(IsomakerSandbox, MakesAHybridIsoWithTheTreesGrub) {
  const char* grub_tree = std::getenv("OIC_ISOMAKER_GRUB_TREE");
  if (grub_tree == nullptr) GTEST_SKIP() << "OIC_ISOMAKER_GRUB_TREE names no tree with GRUB";
  // A package for /cache-repo, indexed by apt-ftparchive inside the sandbox.
  const fs::path deb_root = base_ / "deb";
  fs::create_directories(deb_root / "DEBIAN");
  std::ofstream(deb_root / "DEBIAN/control") << "Package: hello\nVersion: 1.0\nArchitecture: all\n"
                                                  "Maintainer: t <t@t>\nDescription: test\n";
  diskmaker::run_tool_checked({.argv = {"dpkg-deb", "--root-owner-group", "--build", deb_root.string(),
                                        (base_ / "hello_1.0_all.deb").string()}},
                              "build a test package");
  nlohmann::json request = iso_request(grub_tree);
  request["isomaker"]["makeIso"]["packageFamily"] = "deb";
  request["isomaker"]["makeIso"]["packages"] = {{{"path", (base_ / "hello_1.0_all.deb").string()}}};
  // BIOS boot too when the tree has GRUB's i386-pc modules.
  const bool bios = fs::is_directory(fs::path(grub_tree) / "usr/lib/grub/i386-pc");
  request["isomaker"]["makeIso"]["biosBoot"] = bios;
  const auto ran = run_stage(request, {grub_tree});
  ASSERT_TRUE(ran.succeeded()) << ran.describe();
  EXPECT_EQ(names_in(base_ / "out"), (std::vector<std::string>{"x-1.0.iso"}));
  const std::string files = diskmaker::run_tool_checked(
      {.argv = {"xorriso", "-indev", (base_ / "out/x-1.0.iso").string(), "-find", "/", "-type", "f"}}, "list the ISO");
  for (const char* path : {"/images/vmlinuz", "/images/initrd.img", "/boot/grub/grub.cfg", "/boot/grub/efi.img",
                           "/install/manifest.json", "/boot/grub/x86_64-efi/normal.mod",
                           "/cache-repo/hello_1.0_all.deb", "/cache-repo/Packages", "/cache-repo/Release"}) {
    EXPECT_THAT(files, HasSubstr(std::string("'") + path + "'"));
  }
  EXPECT_EQ(files.find("'/boot/grub/bios.img'") != std::string::npos, bios);
  const auto first = nlohmann::json::parse(ran.out)["isomaker"]["makeIso"]["iso"]["sha256"];
  const auto again = run_stage(request, {grub_tree});
  ASSERT_TRUE(again.succeeded()) << again.describe();
  EXPECT_EQ(nlohmann::json::parse(again.out)["isomaker"]["makeIso"]["iso"]["sha256"], first);
}

}  // namespace
}  // namespace stage::isomaker

int main(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "--make-tree") return stage::isomaker::make_tree(argv[2]);
  if (argc == 3 && std::string_view(argv[1]) == "--remove") {
    std::error_code ignored;
    std::filesystem::remove_all(argv[2], ignored);
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return tests::support::run_all_tests();
}
