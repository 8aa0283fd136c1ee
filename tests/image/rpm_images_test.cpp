// azl3 and emt3 images from the hermetic azl3-like repository
// (tests/fixtures/rpmrepo/make-rpmrepo.sh, full set, made from this
// machine's Debian mirror) served on 127.0.0.1, as a user with their own
// mirror builds them: a copy of the OS data whose azl3 and emt3 repositories
// point at the fixture, its key shipped in keys/ and pinned. The azl3
// default template is built and booted to a login prompt, then read back
// from outside: owners, modes and capabilities against the rpmdb, its
// packages through `inspect`, and `rpm -Va` on a copy of the root file
// system, and the build checked by a second one (--check-reproducible).
// The azl3 sample template (GRUB) builds and boots too. The emt3
// default template (its repository publishes no repomd.xml.asc; only the
// packages are signed) is built from the same packages, unsigned metadata,
// and boots with its root on dm-verity, verified. The azl3 initrd boots
// with -kernel/-initrd, and an azl3 ISO installs unattended onto a blank disk.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <memory>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/fixtures/httpd/httpd_fixture.hpp"
#include "tests/fixtures/rpmrepo/rpmrepo.hpp"
#include "tests/image/image_workspace.hpp"
#include "tests/image/verity_probe.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kBootTimeoutSeconds = 300;
constexpr const char* kRootAmd64Type = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
constexpr int kCapNetRaw = 13;

void write_text(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::trunc) << text;
}

// One distribution's OS data pointed at the fixture: its repository file
// names the fixture's URL and key, with repomd's signature checked or not.
void point_at_fixture(const fs::path& os_dir, const rpmrepo::RpmRepo& repo, int port, const std::string& name,
                      bool repo_gpg_check) {
  fs::copy_file(repo.key(), os_dir / "keys/RPM-GPG-KEY", fs::copy_options::overwrite_existing);
  write_text(os_dir / "providerconfigs/x86_64_repo.yml",
             "repositories:\n  - name: " + name + "\n    type: rpm\n    baseURL: http://127.0.0.1:" +
                 std::to_string(port) + "\n    keyFiles: [keys/RPM-GPG-KEY]\n    keyFingerprints: [" +
                 repo.fingerprint() + "]\n    gpgCheck: true\n    repoGPGCheck: " +
                 (repo_gpg_check ? "true" : "false") + "\n");
}

// The azl3 defaults' configuration command `ssh-keygen -A` bakes random
// host keys into every build, by the template's choice
// (docs/reproducible-builds.md): the checked build is made without it, so
// what --check-reproducible measures is the tool's own work.
void drop_host_key_command(const fs::path& defaults) {
  std::string text = read_text(defaults);
  const std::string line = "    - cmd: \"ssh-keygen -A\"\n";
  const std::size_t at = text.find(line);
  ASSERT_NE(at, std::string::npos) << defaults;
  write_text(defaults, text.erase(at, line.size()));
}

// A user's template over the distribution's defaults: a name and a user in
// the sudo group (wheel on azl3). The emt3 default keeps its dm-verity root
// (immutability on, a roothashmap partition) and gets the probe
// tests/image/verity_image_test.cpp reads on the serial console (its files
// are copied beside the template).
std::string user_template(const std::string& dist, const std::string& name) {
  std::string text = "image:\n  name: " + name + "\n  version: \"1.0.0\"\n" +
                     "target:\n  os: " + (dist == "azl3" ? "azure-linux" : "edge-microvisor-toolkit") +
                     "\n  dist: " + dist + "\n  arch: x86_64\n  imageType: raw\n" +
                     "systemConfig:\n  name: Default_Raw\n" +
                     "  users:\n    - name: tester\n      password: \"tester\"\n      groups: [wheel]\n";
  if (dist == "emt3") {
    text += "  additionalFiles:\n    - local: files/oic-verity-probe\n      final: /usr/local/bin/oic-verity-probe\n"
            "    - local: files/oic-verity-probe.service\n"
            "      final: /etc/systemd/system/oic-verity-probe.service\n"
            "  configurations:\n"
            "    - cmd: \"chmod 0755 /usr/local/bin/oic-verity-probe\"\n"
            "    - cmd: \"mkdir -p /usr/share/oic-verity-probe && seq 1 20000 > /usr/share/oic-verity-probe/data\"\n"
            "    - cmd: \"systemctl enable oic-verity-probe.service\"\n";
  }
  return text;
}

class RpmImages : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pre_ = check_preconditions();
    if (!pre_.met()) return;
    scratch_ = std::make_unique<rpmrepo::TempDir>();
    repo_ = std::make_unique<rpmrepo::RpmRepo>(rpmrepo::make_rpmrepo(scratch_->path() / "fixture", {}));
    emt_repo_ = std::make_unique<rpmrepo::RpmRepo>(rpmrepo::make_rpmrepo(scratch_->path() / "emt", {"--emt"}));
    httpd_ = std::make_unique<fixtures::FaultHttpd>(repo_->repo(), std::chrono::seconds(3600));
    emt_httpd_ = std::make_unique<fixtures::FaultHttpd>(emt_repo_->repo(), std::chrono::seconds(3600));
    const fs::path config = scratch_->path() / "config";
    fs::copy(source_dir() / "config", config, fs::copy_options::recursive);
    point_at_fixture(config / "osv/azure-linux/azl3", *repo_, httpd_->port(), "azurelinux-3.0-base", true);
    drop_host_key_command(config / "osv/azure-linux/azl3/imageconfigs/defaultconfigs/default-raw-x86_64.yml");
    point_at_fixture(config / "osv/edge-microvisor-toolkit/emt3", *emt_repo_, emt_httpd_->port(), "emt-3.0-base",
                     false);
    workspace_ = std::make_unique<ImageWorkspace>("oic-rpm", config);
    const fs::path tpl = scratch_->path() / "azl3.yml";
    write_text(tpl, user_template("azl3", "azl3-fixture"));
    // Built twice (--check-reproducible): the second build from the
    // published lockfile in a scratch directory, getting its build
    // environment the other way from the first (copied or installed);
    // every output compared.
    azl3_build_ = std::make_unique<TimedRun>(workspace_->cli({"build", tpl.string(), "--check-reproducible"}));
    std::cout << "[ image    ] build of the azl3 default template, checked by a second build: "
              << azl3_build_->seconds << " s\n";
  }
  static void TearDownTestSuite() {
    workspace_.reset();
    emt_httpd_.reset();
    httpd_.reset();
    emt_repo_.reset();
    repo_.reset();
    scratch_.reset();
  }

  void SetUp() override {
    if (!pre_.skip.empty()) GTEST_SKIP() << pre_.skip;
    ASSERT_TRUE(pre_.missing.empty()) << pre_.missing;
    // A difference fails only the case that checks for one.
    ASSERT_TRUE(azl3_build_->result.exit_code == 0 || not_reproducible(*azl3_build_)) << azl3_build_->tail();
  }
  static bool not_reproducible(const TimedRun& run) {
    return run.result.exit_code == 1 && run.output().find("The build is not reproducible: ") != std::string::npos;
  }

  static ImageOutputs azl3() {
    return {workspace_->output_dir("azure-linux-azl3-x86_64", "Default_Raw"), "azl3-fixture-1.0.0"};
  }
  static fs::path scratch(const std::string& name) {
    const fs::path dir = scratch_->path() / name;
    fs::create_directories(dir);
    return dir;
  }

  // The default template asks for raw.gz; QEMU and debugfs read the raw.
  static fs::path azl3_raw() {
    const fs::path raw = azl3().raw();
    if (!fs::exists(raw)) {
      const RunResult r = run_tool({"gzip", "-dk", azl3().file("raw.gz").string()}, scratch("gzip"));
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    return raw;
  }

  static Ext4Reader root_fs() {
    const fs::path raw = azl3_raw();
    for (const Partition& p : read_partition_table(raw, scratch("sfdisk"))) {
      if (p.type == kRootAmd64Type) return Ext4Reader(raw, p.offset, scratch("debugfs"));
    }
    throw std::runtime_error("no linux-root-amd64 partition in " + raw.string());
  }

  static inline Preconditions pre_;
  static inline std::unique_ptr<rpmrepo::TempDir> scratch_;
  static inline std::unique_ptr<rpmrepo::RpmRepo> repo_;
  static inline std::unique_ptr<rpmrepo::RpmRepo> emt_repo_;  // --emt: no repomd.xml.asc
  static inline std::unique_ptr<fixtures::FaultHttpd> httpd_;
  static inline std::unique_ptr<fixtures::FaultHttpd> emt_httpd_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
  static inline std::unique_ptr<TimedRun> azl3_build_;
};

TEST_F(RpmImages, Azl3DefaultTemplateLocksAsRpmAndBootsToLogin) {
  const json lock = json::parse(read_text(azl3().lock()));
  EXPECT_EQ(lock["family"], "rpm");
  EXPECT_EQ(lock["repositories"][0]["signer"], repo_->fingerprint());
  const TimedRun boot = workspace_->boot_check(azl3_raw(), kBootTimeoutSeconds);
  std::cout << "[ image    ] boot of the azl3 image to login: " << boot.seconds << " s\n";
  EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
}

// The RPM family's image (systemd-boot with a UKI, raw.gz) is the same
// bytes when built again from its lockfile (docs/reproducible-builds.md).
TEST_F(RpmImages, Azl3DefaultTemplateIsReproducible) {
  EXPECT_EQ(azl3_build_->result.exit_code, 0) << azl3_build_->tail(40);
  EXPECT_NE(azl3_build_->output().find("The build is reproducible: a second build from the same template and "
                                       "lockfile gave the same 5 outputs"),
            std::string::npos)
      << azl3_build_->tail(40);
}

// Debian's setgid root:shadow files keep their group as rpm installs them
// in the user namespace, and ping's %caps is a capability of the host's
// namespace (v2), not one only the build's namespace would honour.
TEST_F(RpmImages, OwnersModesAndCapabilitiesAreTheRpmsOnes) {
  const Ext4Reader root = root_fs();
  const auto chage = root.stat("/usr/bin/chage");
  ASSERT_TRUE(chage.has_value());
  EXPECT_EQ(chage->uid, 0u);
  EXPECT_EQ(chage->gid, 42u);
  EXPECT_EQ(chage->permissions(), 02755u);
  const auto shadow = root.stat("/etc/shadow");
  ASSERT_TRUE(shadow.has_value());
  EXPECT_EQ(shadow->gid, 42u);
  EXPECT_EQ(shadow->permissions(), 0640u);
  const auto raw = root.xattr("/usr/bin/ping", "security.capability");
  ASSERT_TRUE(raw.has_value()) << "/usr/bin/ping has no security.capability (its rpm has %caps)";
  const auto caps = decode_file_caps(*raw);
  ASSERT_TRUE(caps.has_value());
  EXPECT_EQ(caps->version, 2);
  EXPECT_TRUE(caps->permitted & (std::uint64_t{1} << kCapNetRaw));
  EXPECT_TRUE(caps->effective);
}

// "NAME VERSION-RELEASE" of every package an image's rpmdb holds, read by
// the host's rpm; gpg-pubkey entries (imported keys) apart.
struct RpmdbContents {
  std::set<std::string> packages;
  std::set<std::string> keys;  // gpg-pubkey versions (the key id's last 8 hex digits)
};
RpmdbContents read_rpmdb(const Ext4Reader& root, const fs::path& scratch) {
  const auto db = root.read_file("/var/lib/rpm/rpmdb.sqlite");
  if (!db) throw std::runtime_error("no /var/lib/rpm/rpmdb.sqlite in the image");
  write_text(scratch / "db" / "rpmdb.sqlite", *db);
  const RunResult query = run_tool(
      {"rpm", "--dbpath", (scratch / "db").string(), "-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\\n"}, scratch);
  if (query.exit_code != 0) throw std::runtime_error("rpm -qa: " + query.err);
  RpmdbContents out;
  std::istringstream lines(query.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("gpg-pubkey ")) {
      out.keys.insert(line.substr(11, line.find('-', 11) - 11));
    } else {
      out.packages.insert(line);
    }
  }
  return out;
}

// The lockfile's packages as rpm -qa above prints them (no epoch).
std::set<std::string> locked_rpms(const fs::path& lockfile) {
  std::set<std::string> locked;
  const json lock = json::parse(read_text(lockfile));  // kept alive: the loop walks into it
  for (const auto& p : lock["packages"]) {
    std::string version = p["version"].get<std::string>();
    if (const auto colon = version.find(':'); colon != std::string::npos) version = version.substr(colon + 1);
    locked.insert(p["name"].get<std::string>() + " " + version);
  }
  return locked;
}

// The image's rpmdb: every locked package at its locked version, and the
// repository's key imported as a gpg-pubkey.
TEST_F(RpmImages, RpmdbHoldsTheLockedPackagesAndTheRepositoryKey) {
  const RpmdbContents db = read_rpmdb(root_fs(), scratch("rpm"));
  EXPECT_EQ(db.packages, locked_rpms(azl3().lock()));
  std::string fingerprint = repo_->fingerprint();
  for (char& c : fingerprint) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_TRUE(db.keys.count(fingerprint.substr(fingerprint.size() - 8))) << "the repository's key was not imported";
}

// `inspect` reads the same rpmdb in its sandbox, from memory: every package
// rpm -qa lists, at the same version (with its epoch when it has one), and
// the imported key as gpg-pubkey. (The fixture's packages, repackaged from
// Debian's, also leave a dpkg status: the rpm database decides.)
TEST_F(RpmImages, InspectListsTheRpmdbsPackages) {
  const TimedRun inspect = workspace_->cli({"inspect", azl3_raw().string(), "--format", "json"});
  ASSERT_EQ(inspect.result.exit_code, 0) << inspect.tail();
  const json report = json::parse(inspect.result.out);  // kept alive: the loop walks into it
  std::set<std::string> listed, keys;
  for (const json& p : report["root"]["packages"]) {
    std::string version = p["version"].get<std::string>();
    if (const auto colon = version.find(':'); colon != std::string::npos) version = version.substr(colon + 1);
    (p["name"] == "gpg-pubkey" ? keys : listed).insert(p["name"].get<std::string>() + " " + version);
  }
  const RpmdbContents db = read_rpmdb(root_fs(), scratch("rpm-inspect"));
  EXPECT_EQ(listed, db.packages);
  EXPECT_EQ(listed, locked_rpms(azl3().lock()));
  EXPECT_EQ(keys.size(), db.keys.size());
}

// `rpm -Va` on a copy of the root file system made in a user namespace
// with the subordinate range (so owners survive debugfs rdump), its modes
// then set from the image's own inodes (rdump's chown clears setuid bits):
// only configuration files the OS configuration writes may differ.
TEST_F(RpmImages, RpmVerifyIsCleanApartFromConfiguredFiles) {
  const Ext4Reader root = root_fs();
  // One NUL-separated list of relative paths per mode, for `xargs -0 chmod`.
  std::map<std::string, std::string> paths_by_mode;
  for (const auto& [path, info] : root.list_tree()) {
    if ((info.mode & 0170000) == 0120000) continue;  // symlinks have no mode of their own
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", info.permissions());
    paths_by_mode[mode] += path.substr(1) + '\0';
  }
  const fs::path dir = scratch("verify");
  for (const auto& [mode, paths] : paths_by_mode) write_text(dir / "modes" / mode, paths);
  const fs::path copy = dir / "root";
  fs::create_directories(copy);
  const fs::path raw = azl3_raw();
  std::uint64_t offset = 0;
  for (const Partition& p : read_partition_table(raw, scratch("sfdisk"))) {
    if (p.type == kRootAmd64Type) offset = p.offset;
  }
  const std::string script =
      "set -e\ndebugfs -R \"rdump / $1\" \"$2\" >/dev/null 2>&1\n"
      "for list in \"$3\"/*; do (cd \"$1\" && xargs -0 chmod \"${list##*/}\" <\"$list\"); done\n"
      "rpm --root \"$1\" --dbpath /var/lib/rpm -Va --nocaps || true\nrm -rf \"$1\"\n";
  const RunResult verify = run_tool({"unshare", "--user", "--map-auto", "--map-root-user", "/bin/sh", "-c", script,
                                     "sh", copy.string(), raw.string() + "?offset=" + std::to_string(offset),
                                     (dir / "modes").string()},
                                    scratch("unshare"));
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  const std::set<std::string> configured = {
      "/etc/fstab",  "/etc/group",   "/etc/group-",      "/etc/gshadow", "/etc/gshadow-", "/etc/hostname",
      "/etc/passwd", "/etc/passwd-", "/etc/machine-id",  "/etc/shadow",  "/etc/shadow-",  "/etc/subuid",
      "/etc/subgid"};
  std::istringstream lines(verify.out);
  std::size_t differing = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto slash = line.find('/');
    ASSERT_NE(slash, std::string::npos) << "unexpected rpm -V line: " << line;
    ++differing;
    EXPECT_TRUE(configured.count(line.substr(slash))) << "rpm -Va: " << line;
  }
  EXPECT_GT(differing, 0u) << "rpm -Va reported nothing: /etc/passwd has the template's user, so it must differ";
}

// emt3 publishes no repomd.xml.asc: its provider checks the packages' own
// signatures only. Its default template builds from the same packages with
// its read-only root on dm-verity, and boots with that root verified.
TEST_F(RpmImages, Emt3DefaultTemplateBuildsFromAnUnsignedRepomdAndBootsAVerifiedRoot) {
  const fs::path tpl = scratch("emt3") / "emt3.yml";
  write_text(tpl, user_template("emt3", "emt3-fixture"));
  fs::create_directories(tpl.parent_path() / "files");
  for (const char* file : {"oic-verity-probe", "oic-verity-probe.service"}) {
    fs::copy_file(source_dir() / "tests/image/templates/files" / file, tpl.parent_path() / "files" / file,
                  fs::copy_options::overwrite_existing);
  }
  const TimedRun build = workspace_->build(tpl);
  std::cout << "[ image    ] build of the emt3 default template (dm-verity root): " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  EXPECT_NE(build.output().find("dm-verity root hash "), std::string::npos) << build.tail();
  const ImageOutputs emt3{workspace_->output_dir("edge-microvisor-toolkit-emt3-x86_64", "Default_Raw"),
                          "emt3-fixture-1.0.0"};
  const json lock = json::parse(read_text(emt3.lock()));
  EXPECT_EQ(lock["family"], "rpm");
  EXPECT_EQ(lock["repositories"][0]["signer"], "");
  EXPECT_FALSE(fs::exists(emt_repo_->repomd_asc()));
  ASSERT_TRUE(fs::is_regular_file(emt3.file("raw.gz")));

  const RunResult unzip = run_tool({"gzip", "-dk", emt3.file("raw.gz").string()}, scratch("emt3"));
  ASSERT_EQ(unzip.exit_code, 0) << unzip.err;
  const fs::path console = scratch("emt3") / "boot.console";
  const TimedRun boot = workspace_->cli({"boot", emt3.raw().string(), "--check", "--timeout",
                                         std::to_string(kBootTimeoutSeconds), "--serial-log", console.string()});
  std::cout << "[ image    ] boot of the emt3 image to login: " << boot.seconds << " s\n";
  const std::string text = fs::exists(console) ? read_text(console) : "";
  ASSERT_EQ(boot.result.exit_code, 0) << "no login prompt: " << text.substr(text.size() > 6000 ? text.size() - 6000 : 0);
  expect_verified_root(text);
}

// The azl3 sample a user starts from: GRUB (grub2-mkstandalone, as azl3
// names it) instead of the defaults' systemd-boot, a qcow2 beside the raw.gz.
TEST_F(RpmImages, Azl3SampleWithGrubBuildsAndBootsToLogin) {
  const TimedRun build = workspace_->build(source_dir() / "image-templates/azl3-x86_64-minimal-raw.yml");
  std::cout << "[ image    ] build of the azl3 GRUB sample: " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  const ImageOutputs sample{workspace_->output_dir("azure-linux-azl3-x86_64", "Minimal_Raw"),
                            "azl3-x86_64-minimal-1.0.0"};
  const TimedRun boot = workspace_->boot_check(sample.file("qcow2"), kBootTimeoutSeconds);
  std::cout << "[ image    ] boot of the azl3 GRUB sample to login: " << boot.seconds << " s\n";
  EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
}

// The azl3 initrd (the ISO's live environment) boots with -kernel/-initrd
// to root's automatic login.
TEST_F(RpmImages, Azl3InitrdBootsWithKernelAndInitrdToARootLogin) {
  const TimedRun build = workspace_->build(source_dir() / "tests/image/templates/azl3-initrd.yml");
  std::cout << "[ image    ] build of the azl3 initrd: " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  const ImageOutputs initrd{workspace_->output_dir("azure-linux-azl3-x86_64", "Default_Initrd"),
                            "oic-azl3-initrd-1.0.0"};
  fs::path kernel;
  for (const auto& entry : fs::directory_iterator(initrd.dir)) {
    if (entry.path().filename().string().starts_with("vmlinuz-")) kernel = entry.path();
  }
  ASSERT_FALSE(kernel.empty()) << "no kernel beside the initrd in " << initrd.dir;
  EXPECT_EQ(json::parse(read_text(initrd.lock()))["family"], "rpm");
  const TimedRun boot = workspace_->cli({"boot", initrd.file("img").string(), "--kernel", kernel.string(), "--check",
                                         "--timeout", std::to_string(kBootTimeoutSeconds)});
  std::cout << "[ image    ] boot of the azl3 initrd to login: " << boot.seconds << " s\n";
  EXPECT_EQ(boot.result.exit_code, 0) << "no login prompt: " << boot.tail(60);
  EXPECT_NE(boot.output().find("default-initrd login:"), std::string::npos) << boot.tail(20);
}

// An azl3 ISO: its /cache-repo is an rpm repository (repodata), and its
// unattended installer writes the target onto a blank disk that then boots
// alone with exactly the ISO's locked packages in its rpmdb.
TEST_F(RpmImages, Azl3IsoInstallsUnattendedAndTheDiskBootsWithTheLockedPackages) {
  const fs::path out = scratch("azl3-iso");
  const TimedRun build = workspace_->cli({"build", (source_dir() / "tests/image/templates/azl3-iso-unattended.yml").string(),
                                          "--keep-requests", (out / "requests").string()});
  std::cout << "[ image    ] build of the azl3 ISO: " << build.seconds << " s\n";
  ASSERT_EQ(build.result.exit_code, 0) << build.tail();
  const ImageOutputs iso{workspace_->output_dir("azure-linux-azl3-x86_64", "Unattended_ISO"), "oic-azl3-iso-1.0.0"};
  // The target's and the live environment's jobs share names; both sets are kept.
  for (const fs::path& request : {out / "requests/install.json", out / "requests/live/install.json"}) {
    EXPECT_TRUE(fs::is_regular_file(request)) << request << " was not kept";
  }
  EXPECT_NE(read_text(out / "requests/install.json"), read_text(out / "requests/live/install.json"));
  const RunResult extract = run_tool({"xorriso", "-osirrox", "on", "-indev", iso.file("iso").string(), "-extract",
                                      "/cache-repo/repodata/repomd.xml", (out / "repomd.xml").string()},
                                     out);
  ASSERT_EQ(extract.exit_code, 0) << extract.err;
  EXPECT_NE(read_text(out / "repomd.xml").find("primary"), std::string::npos);

  const fs::path disk = out / "disk.qcow2";
  const TimedRun install = workspace_->cli({"boot", iso.file("iso").string(), "--install", "--disk", "2",
                                            "--keep-disk", disk.string(), "--timeout",
                                            std::to_string(kBootTimeoutSeconds), "--install-timeout", "1500"});
  std::cout << "[ image    ] install from the azl3 ISO and boot from the disk: " << install.seconds << " s\n";
  ASSERT_EQ(install.result.exit_code, 0) << install.tail(80);
  EXPECT_NE(install.output().find("oic-azl3-iso login:"), std::string::npos) << install.tail(20);
  const fs::path raw = out / "disk.raw";
  const RunResult convert = run_tool({"qemu-img", "convert", "-O", "raw", disk.string(), raw.string()}, out);
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  for (const Partition& p : read_partition_table(raw, scratch("sfdisk"))) {
    if (p.type != kRootAmd64Type) continue;
    EXPECT_GT(p.offset + p.size, 1ull << 30) << "the root partition was not grown past the image's 1 GiB";
    EXPECT_EQ(read_rpmdb(Ext4Reader(raw, p.offset, scratch("debugfs")), scratch("rpm-installed")).packages,
              locked_rpms(iso.lock()));
    return;
  }
  ADD_FAILURE() << "no root partition on the installed disk";
}

}  // namespace
}  // namespace tests::image
