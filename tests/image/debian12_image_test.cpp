// One Debian 12 image, built once from tests/image/templates/debian12-checks.yml
// with the mirror of this machine's apt sources, then read back from outside
// (sfdisk, blkid, debugfs, mtools): owners, modes, capabilities, boot files,
// fstab, users, files and commands of the template, SBOM and checksums.
// Then, with the same build environment: configuration commands that try
// to reach the host fail the build, and a rebuild reuses the environment and
// gives the same files and the same bytes (docs/reproducible-builds.md).
// `inspect` and `compare` are checked on that image, a qcow2 made of it and
// copies of it, against what sfdisk, blkid, debugfs and dpkg-query say.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "tests/image/image_copies.hpp"
#include "tests/image/image_workspace.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;

constexpr const char* kProvider = "debian-debian12-x86_64";
constexpr const char* kSystemName = "Checks_Raw";
constexpr const char* kBase = "oic-checks-1.0.0";
constexpr const char* kEspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
constexpr const char* kRootAmd64Type = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr int kCapNetRaw = 13;

fs::path checks_template() { return source_dir() / "tests/image/templates/debian12-checks.yml"; }

std::string random_token() {
  std::random_device device;
  std::uniform_int_distribution<std::uint64_t> dist;
  std::ostringstream out;
  out << std::hex << dist(device);
  return out.str();
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// The partition cut out of the shared image with dd, once per test run.
fs::path cut_partition(const fs::path& raw, const Partition& p, const fs::path& dir) {
  const fs::path out = dir / ("partition-" + std::to_string(p.number) + ".img");
  if (!fs::exists(out)) {
    fs::create_directories(dir);
    extract_partition(raw, p.offset, p.size, out, dir / "run");
  }
  return out;
}

// KEY=VALUE lines of an os-release file, quotes taken off.
std::map<std::string, std::string> os_release_of(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const std::size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[line.substr(0, eq)] = value;
  }
  return out;
}

// The `linux PATH ARGS...` line of a GRUB menu: {PATH, ARGS}.
std::pair<std::string, std::string> grub_linux_line(const std::string& cfg) {
  std::istringstream in(cfg);
  for (std::string line; std::getline(in, line);) {
    const std::size_t at = line.find_first_not_of(" \t");
    if (at == std::string::npos || line.compare(at, 6, "linux ") != 0) continue;
    const std::string rest = line.substr(at + 6);
    const std::size_t space = rest.find(' ');
    return {rest.substr(0, space), space == std::string::npos ? "" : rest.substr(space + 1)};
  }
  return {};
}

nlohmann::json parse_json_output(const TimedRun& run) {
  try {
    return nlohmann::json::parse(run.result.out);
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "): " << run.tail();
    return nlohmann::json::object();
  }
}

// The image shared by the tests of this file: built once, then its outputs
// moved to <root>/first so that the rebuild test has both side by side.
class Debian12Image : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pre_ = check_preconditions();
    if (!pre_.met()) return;
    workspace_ = std::make_unique<ImageWorkspace>("oic-image");
    // No SOURCE_DATE_EPOCH: both builds take the newest repository date
    // their lockfile records; every file the builds write is clamped to it,
    // no package's file is (docs/reproducible-builds.md), so the rebuild must
    // give the same bytes. The saved build environment is keyed by that time,
    // the one the other image tests' builds of this package set use.
    build_ = workspace_->build(checks_template());
    std::cout << "[ image    ] first build of " << kBase << ": " << build_.seconds << " s, exit "
              << build_.result.exit_code << "\n";
    if (build_.result.exit_code != 0) return;
    outputs_.base = kBase;
    outputs_.dir = workspace_->root() / "first";
    const fs::path made = workspace_->output_dir(kProvider, kSystemName);
    if (!fs::exists(made / (std::string(kBase) + ".raw"))) return;  // SetUp reports it
    fs::rename(made, outputs_.dir);
    partitions_ = read_partition_table(outputs_.raw(), workspace_->root() / "scratch");
  }

  static void TearDownTestSuite() { workspace_.reset(); }

  void SetUp() override {
    if (!pre_.skip.empty()) GTEST_SKIP() << pre_.skip;
    ASSERT_TRUE(pre_.missing.empty()) << pre_.missing;
    ASSERT_EQ(build_.result.exit_code, 0) << "building " << checks_template() << " failed: " << build_.tail();
    ASSERT_EQ(partitions_.size(), 2u) << "the build succeeded but " << kBase << ".raw with two partitions is not in "
                                      << workspace_->output_dir(kProvider, kSystemName);
  }

  static const Partition& esp_partition() { return partitions_[0]; }
  static const Partition& root_partition() { return partitions_[1]; }
  static Ext4Reader rootfs() {
    return Ext4Reader(outputs_.raw(), root_partition().offset, workspace_->root() / "scratch/ext4");
  }
  static FatReader esp() { return FatReader(outputs_.raw(), esp_partition().offset, workspace_->root() / "scratch/fat"); }
  static std::string image_file(const std::string& path) {
    const auto text = rootfs().read_file(path);
    EXPECT_TRUE(text.has_value()) << path << " is missing from the image";
    return text.value_or("");
  }

  // A template with the package set of the shared image (so the build
  // environment is reused) but its own names and `configurations`.
  static fs::path variant_template(const std::string& name, const std::vector<std::string>& commands) {
    YAML::Node doc = YAML::LoadFile(checks_template().string());
    doc["image"]["name"] = "oic-" + name;
    doc["disk"]["name"] = name;
    doc["systemConfig"]["name"] = name;
    YAML::Node configurations(YAML::NodeType::Sequence);
    for (const std::string& cmd : commands) {
      YAML::Node entry;
      entry["cmd"] = cmd;
      configurations.push_back(entry);
    }
    doc["systemConfig"]["configurations"] = configurations;
    // The copy lives elsewhere, and additional files must be inside the
    // template's directory: its file goes beside it, mode kept.
    const std::string local = doc["systemConfig"]["additionalFiles"][0]["local"].as<std::string>();
    const fs::path copy = workspace_->root() / local;
    fs::create_directories(copy.parent_path());
    fs::copy_file(checks_template().parent_path() / local, copy, fs::copy_options::overwrite_existing);
    const fs::path path = workspace_->root() / (name + ".yml");
    YAML::Emitter out;
    out << doc;
    std::ofstream(path) << out.c_str() << "\n";
    return path;
  }

  // Nothing of a failed build may look like a finished image.
  static void expect_no_finished_outputs(const std::string& name) {
    const fs::path dir = workspace_->output_dir(kProvider, name);
    if (!fs::exists(dir)) return;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string file = entry.path().filename().string();
      EXPECT_NE(file, "SHA256SUMS") << "a failed build left " << entry.path();
      EXPECT_NE(file, ".build-record.json") << "a failed build left " << entry.path();
      EXPECT_NE(file.rfind("oic-" + name, 0), 0u) << "a failed build left " << entry.path();
    }
  }

  // inspect and compare: partitions cut out once, runs timed.
  static fs::path scratch() { return workspace_->root() / "scratch/inspect"; }
  static fs::path cut(const Partition& p) { return cut_partition(outputs_.raw(), p, scratch() / "parts"); }
  static TimedRun cli(const std::string& what, const std::vector<std::string>& args) {
    const TimedRun run = workspace_->cli(args);
    std::cout << "[ image    ] " << what << ": " << run.seconds << " s, exit " << run.result.exit_code << "\n";
    return run;
  }
  static nlohmann::json inspect_json(const fs::path& image) {
    const TimedRun run = cli("inspect " + image.filename().string(), {"inspect", image.string(), "--format", "json"});
    EXPECT_EQ(run.result.exit_code, 0) << run.tail();
    return parse_json_output(run);
  }

  static inline Preconditions pre_;
  static inline std::unique_ptr<ImageWorkspace> workspace_;
  static inline TimedRun build_;
  static inline ImageOutputs outputs_;
  static inline std::vector<Partition> partitions_;
  static inline std::string rebuild_initramfs_key_;  // the initramfs the warm rebuild reused
};

TEST_F(Debian12Image, OutputsAreCompleteAndSha256SumsMatchThem) {
  for (const fs::path& file : {outputs_.raw(), outputs_.lock(), outputs_.sbom(), outputs_.merged_template(),
                               outputs_.sums()}) {
    EXPECT_TRUE(fs::is_regular_file(file)) << file << " is missing; the output dir holds:\n"
                                           << [&] {
                                                std::string list;
                                                for (const auto& e : fs::directory_iterator(outputs_.dir))
                                                  list += "  " + e.path().filename().string() + "\n";
                                                return list;
                                              }();
  }
  const std::map<std::string, std::string> sums = parse_sha256sums(read_text(outputs_.sums()));
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(outputs_.dir)) {
    // The build record says what the files were made from; it is not one of them.
    const std::string name = entry.path().filename().string();
    if (name != "SHA256SUMS" && name != ".build-record.json") files.insert(name);
  }
  std::set<std::string> listed;
  for (const auto& [name, hash] : sums) {
    listed.insert(name);
    ASSERT_TRUE(fs::exists(outputs_.dir / name)) << "SHA256SUMS lists " << name << ", which is not there";
    EXPECT_EQ(sha256_of(outputs_.dir / name, workspace_->root() / "scratch/sha"), hash) << name;
  }
  EXPECT_EQ(listed, files) << "SHA256SUMS must list every output file";
}

TEST_F(Debian12Image, PartitionTableIsTheTemplates) {
  EXPECT_EQ(esp_partition().type, kEspType);
  EXPECT_EQ(esp_partition().offset, 1 * kMiB);
  EXPECT_EQ(esp_partition().size, 128 * kMiB);
  EXPECT_EQ(root_partition().type, kRootAmd64Type);
  EXPECT_EQ(root_partition().offset, 129 * kMiB);
  EXPECT_EQ(fs::file_size(outputs_.raw()), 2048 * kMiB);
  // The rest of the disk up to the backup GPT (33 sectors).
  EXPECT_GE(root_partition().offset + root_partition().size, 2048 * kMiB - 1 * kMiB);
}

TEST_F(Debian12Image, FstabAndKernelCommandLineNameTheFileSystemsUuids) {
  const fs::path scratch = workspace_->root() / "scratch";
  const FsProbe root = probe_filesystem(outputs_.raw(), root_partition().offset, scratch);
  const FsProbe boot = probe_filesystem(outputs_.raw(), esp_partition().offset, scratch);
  EXPECT_EQ(root.type, "ext4");
  EXPECT_EQ(boot.type, "vfat");
  ASSERT_FALSE(root.uuid.empty());
  ASSERT_FALSE(boot.uuid.empty());

  std::map<std::string, FstabEntry> by_mount;
  for (const FstabEntry& e : parse_fstab(image_file("/etc/fstab"))) by_mount[e.mount_point] = e;
  ASSERT_EQ(by_mount.count("/"), 1u);
  ASSERT_EQ(by_mount.count("/boot/efi"), 1u);
  EXPECT_EQ(by_mount["/"].spec, "UUID=" + root.uuid);
  EXPECT_EQ(by_mount["/"].type, "ext4");
  EXPECT_EQ(by_mount["/boot/efi"].spec, "UUID=" + boot.uuid);
  EXPECT_EQ(by_mount["/boot/efi"].type, "vfat");
  EXPECT_NE(by_mount["/boot/efi"].options.find("umask=0077"), std::string::npos) << by_mount["/boot/efi"].options;

  const std::string cmdline = image_file("/etc/kernel/cmdline");
  EXPECT_NE(cmdline.find("root=UUID=" + root.uuid), std::string::npos) << cmdline;
  EXPECT_NE(cmdline.find("console=ttyS0,115200"), std::string::npos) << cmdline;
  const std::string grub_cfg = image_file("/boot/grub/grub.cfg");
  EXPECT_NE(grub_cfg.find(root.uuid), std::string::npos) << "/boot/grub/grub.cfg:\n" << grub_cfg;
}

TEST_F(Debian12Image, EspHoldsTheRemovableGrubPath) {
  const std::vector<std::string> paths = esp().list_tree();
  const std::set<std::string> present(paths.begin(), paths.end());
  EXPECT_EQ(present.count("/EFI/BOOT/BOOTX64.EFI"), 1u) << "ESP holds: " << ::testing::PrintToString(paths);
  EXPECT_EQ(present.count("/EFI/BOOT/grub.cfg"), 1u) << "ESP holds: " << ::testing::PrintToString(paths);
  const auto loader = esp().read_file("/EFI/BOOT/BOOTX64.EFI");
  ASSERT_TRUE(loader.has_value());
  EXPECT_EQ(loader->substr(0, 2), "MZ") << "BOOTX64.EFI is no PE executable";
}

TEST_F(Debian12Image, PackagesKeepTheirOwnersModesAndCapabilities) {
  struct Expected {
    const char* path;
    std::uint32_t permissions;
    std::uint32_t uid;
    std::uint32_t gid;
  };
  const std::uint32_t shadow_gid = 42;  // base-passwd's fixed gid of group shadow
  for (const Expected& e : {Expected{"/etc/shadow", 0640, 0, shadow_gid}, Expected{"/usr/bin/passwd", 04755, 0, 0},
                            Expected{"/usr/bin/sudo", 04755, 0, 0}, Expected{"/etc/sudoers", 0440, 0, 0},
                            Expected{"/usr/bin/chage", 02755, 0, shadow_gid}, Expected{"/tmp", 01777, 0, 0},
                            Expected{"/root", 0700, 0, 0}}) {
    const auto info = rootfs().stat(e.path);
    ASSERT_TRUE(info.has_value()) << e.path << " is missing";
    EXPECT_EQ(info->permissions(), e.permissions) << e.path << " mode " << std::oct << info->permissions();
    EXPECT_EQ(info->uid, e.uid) << e.path;
    EXPECT_EQ(info->gid, e.gid) << e.path;
  }
  const auto group = parse_colon_file(image_file("/etc/group"));
  ASSERT_EQ(group.count("shadow"), 1u);
  EXPECT_EQ(group.at("shadow")[2], std::to_string(shadow_gid));

  const auto raw = rootfs().xattr("/usr/bin/ping", "security.capability");
  ASSERT_TRUE(raw.has_value()) << "/usr/bin/ping has no security.capability (iputils-ping sets cap_net_raw)";
  const auto caps = decode_file_caps(*raw);
  ASSERT_TRUE(caps.has_value()) << "undecodable security.capability of " << raw->size() << " bytes";
  EXPECT_EQ(caps->version, 2) << "a v3 (namespaced) capability would not apply on the booted system";
  EXPECT_TRUE(caps->permitted & (std::uint64_t{1} << kCapNetRaw)) << "cap_net_raw is not permitted";
  EXPECT_TRUE(caps->effective);
}

TEST_F(Debian12Image, TemplateUserHasAHashedPasswordHomeAndGroups) {
  const auto passwd = parse_colon_file(image_file("/etc/passwd"));
  const auto shadow = parse_colon_file(image_file("/etc/shadow"));
  const auto group = parse_colon_file(image_file("/etc/group"));
  ASSERT_EQ(passwd.count("tester"), 1u);
  ASSERT_EQ(shadow.count("tester"), 1u);
  const std::string hash = shadow.at("tester").at(1);
  EXPECT_EQ(hash.rfind("$6$", 0), 0u) << "expected a sha512-crypt hash, got '" << hash << "'";
  EXPECT_EQ(image_file("/etc/shadow").find("not-the-hash"), std::string::npos) << "the clear password is in the image";
  ASSERT_EQ(group.count("sudo"), 1u);
  const std::string members = group.at("sudo").at(3);
  EXPECT_NE(("," + members + ",").find(",tester,"), std::string::npos) << "sudo members: " << members;

  const std::uint32_t uid = static_cast<std::uint32_t>(std::stoul(passwd.at("tester").at(2)));
  EXPECT_GE(uid, 1000u);
  const std::string home = passwd.at("tester").at(5);
  const auto home_info = rootfs().stat(home);
  ASSERT_TRUE(home_info.has_value()) << "home " << home << " is missing";
  EXPECT_TRUE(home_info->is_dir());
  EXPECT_EQ(home_info->uid, uid) << home;
}

TEST_F(Debian12Image, AdditionalFileHasItsContentAndMode) {
  const fs::path local = checks_template().parent_path() / "files/oic-hello";
  const auto info = rootfs().stat("/usr/local/bin/oic-hello");
  ASSERT_TRUE(info.has_value()) << "/usr/local/bin/oic-hello is missing";
  EXPECT_EQ(image_file("/usr/local/bin/oic-hello"), read_text(local));
  const auto local_mode = static_cast<std::uint32_t>(fs::status(local).permissions());
  EXPECT_EQ(info->permissions(), local_mode) << std::oct << info->permissions() << " vs " << local_mode;
  EXPECT_EQ(info->uid, 0u);
  EXPECT_EQ(info->gid, 0u);
}

TEST_F(Debian12Image, ConfigurationCommandRanInTheImage) {
  EXPECT_EQ(image_file("/etc/oic-configured"), "configured-by-oic\n");
}

TEST_F(Debian12Image, HostnameIsTheTemplatesAndMachineIdIsLeftForFirstBoot) {
  EXPECT_EQ(trimmed(image_file("/etc/hostname")), "oic-checks");
  EXPECT_NE(image_file("/etc/hosts").find("oic-checks"), std::string::npos);
  // Empty, so that every booted copy makes its own (systemd's first boot).
  EXPECT_EQ(image_file("/etc/machine-id"), "");
}

// openssh-server's postinst made host keys; the image holds none, and makes
// its own at first boot (docs/os-configuration.md).
TEST_F(Debian12Image, NoSshHostKeyIsInTheImageAndFirstBootMakesThem) {
  const auto tree = rootfs().list_tree();
  ASSERT_TRUE(tree.count("/usr/sbin/sshd")) << "the template installs openssh-server";
  for (const auto& [path, info] : tree) {
    EXPECT_NE(path.rfind("/etc/ssh/ssh_host_", 0), 0u) << path;
  }
  EXPECT_NE(image_file("/etc/systemd/system/ssh-host-keys.service").find("ExecStart=/usr/bin/ssh-keygen -A"),
            std::string::npos);
  EXPECT_TRUE(tree.count("/etc/systemd/system/multi-user.target.wants/ssh-host-keys.service"));
}

TEST_F(Debian12Image, SbomIsInTheImageAndBesideItAndIsValidSpdx23) {
  const fs::path schema = source_dir() / "tests/data/spdx/spdx-2.3-schema.json";
  const fs::path scratch = workspace_->root() / "scratch/sbom";
  EXPECT_EQ(json_schema_errors(schema, outputs_.sbom(), scratch), "");

  const auto tree = rootfs().list_tree();
  std::vector<std::string> inside;
  for (const auto& [path, info] : tree) {
    if (path.rfind("/usr/share/sbom/", 0) == 0 && info.is_regular()) inside.push_back(path);
  }
  ASSERT_EQ(inside.size(), 1u) << "expected one SBOM in /usr/share/sbom/";
  fs::create_directories(scratch);
  std::ofstream(scratch / "inside.spdx.json") << image_file(inside.front());
  EXPECT_EQ(json_schema_errors(schema, scratch / "inside.spdx.json", scratch), "");

  // Every package of the lock is in the SBOM, with its version.
  const nlohmann::json sbom = nlohmann::json::parse(read_text(outputs_.sbom()));
  std::map<std::string, std::string> described;
  for (const nlohmann::json& p : sbom.at("packages")) {
    described[p.at("name").get<std::string>()] = p.value("versionInfo", "");
  }
  const nlohmann::json lock = nlohmann::json::parse(read_text(outputs_.lock()));
  ASSERT_GT(lock.at("packages").size(), 100u);
  for (const nlohmann::json& p : lock.at("packages")) {
    const std::string name = p.at("name").get<std::string>();
    ASSERT_EQ(described.count(name), 1u) << name << " is in the lock but not in the SBOM";
    EXPECT_EQ(described[name], p.at("version").get<std::string>()) << name;
  }
  EXPECT_EQ(described.count("iputils-ping"), 1u);
}


// Partition table, partitions and file systems as sfdisk and blkid (and
// debugfs for ext4) read them from the image and from each partition cut out.
TEST_F(Debian12Image, InspectJsonGivesThePartitionsAndFileSystemsSfdiskBlkidAndDebugfsRead) {
  const nlohmann::json report = inspect_json(outputs_.raw());
  const RunResult sfdisk_run = run_tool({"sfdisk", "--json", outputs_.raw().string()}, scratch() / "run");
  ASSERT_EQ(sfdisk_run.exit_code, 0) << sfdisk_run.err;
  const nlohmann::json table = nlohmann::json::parse(sfdisk_run.out).at("partitiontable");
  const std::uint64_t sector = table.at("sectorsize").get<std::uint64_t>();
  EXPECT_EQ(report["partitionTable"]["type"], table["label"]);
  EXPECT_EQ(report["partitionTable"]["id"], table["id"]);
  EXPECT_EQ(report["partitionTable"]["sectorSize"], sector);
  EXPECT_EQ(report["partitionTable"]["firstUsableLba"], table["firstlba"]);
  EXPECT_EQ(report["partitionTable"]["lastUsableLba"], table["lastlba"]);
  ASSERT_EQ(report["partitions"].size(), 2u) << report["partitions"].dump(2);
  ASSERT_EQ(table["partitions"].size(), 2u) << table.dump(2);
  for (std::size_t i = 0; i < 2; ++i) {
    const nlohmann::json& got = report["partitions"][i];
    const nlohmann::json& want = table["partitions"][i];
    const std::uint64_t start = want.at("start"), size = want.at("size");
    SCOPED_TRACE("partition " + std::to_string(i + 1) + ": " + want.dump());
    EXPECT_EQ(got["index"], i + 1);
    EXPECT_EQ(got["name"], want["name"]);
    EXPECT_EQ(got["typeGuid"], want["type"]);
    EXPECT_EQ(got["uniqueGuid"], want["uuid"]);
    EXPECT_EQ(got["firstLba"], start);
    EXPECT_EQ(got["lastLba"], start + size - 1);
    EXPECT_EQ(got["sizeBytes"], size * sector);
    // The file system as blkid sees it in the partition cut out of the image.
    const Partition& p = partitions_.at(i);
    ASSERT_EQ(p.offset, start * sector);
    const auto probe = blkid_of(cut(p), scratch() / "run");
    EXPECT_EQ(got["filesystem"]["type"], probe.count("TYPE") ? probe.at("TYPE") : "");
    EXPECT_EQ(got["filesystem"]["uuid"], probe.count("UUID") ? probe.at("UUID") : "");
    EXPECT_EQ(got["filesystem"]["label"], probe.count("LABEL") ? probe.at("LABEL") : "");
  }
  EXPECT_EQ(report["partitions"][0]["filesystem"]["type"], "vfat");
  EXPECT_EQ(report["partitions"][1]["filesystem"]["type"], "ext4");
  // ext4's own superblock, by debugfs.
  const auto super = ext4_superblock(cut(root_partition()), scratch() / "run");
  ASSERT_EQ(super.count("Filesystem UUID"), 1u);
  EXPECT_EQ(report["partitions"][1]["filesystem"]["uuid"], super.at("Filesystem UUID"));
  const std::string volume = super.at("Filesystem volume name");
  EXPECT_EQ(report["partitions"][1]["filesystem"]["label"], volume == "<none>" ? "" : volume);
  EXPECT_EQ(report["partitions"][1]["filesystem"]["sizeBytes"],
            std::stoull(super.at("Block count")) * std::stoull(super.at("Block size")));
  // FAT's own boot sector, by mtools' minfo.
  const auto boot = fat_boot_sector(cut(esp_partition()), scratch() / "run");
  ASSERT_EQ(boot.count("sector size"), 1u);
  const std::uint64_t sectors = std::stoull(boot.at("small size")) != 0 ? std::stoull(boot.at("small size"))
                                                                       : std::stoull(boot.at("big size"));
  EXPECT_EQ(report["partitions"][0]["filesystem"]["sizeBytes"], sectors * std::stoull(boot.at("sector size")));
  EXPECT_GT(sectors, 0u);
}

// os-release, packages, users, the boot menus and the kernel with its command
// line, each against the file debugfs (or mtools) reads from the partitions.
TEST_F(Debian12Image, InspectJsonGivesTheRootsOsReleasePackagesUsersKernelAndCommandLine) {
  const nlohmann::json report = inspect_json(outputs_.raw());
  const nlohmann::json& root = report["root"];
  ASSERT_TRUE(root.is_object()) << report.dump(2).substr(0, 4000);
  EXPECT_EQ(root["partition"], 2);
  const Ext4Reader cut_root(cut(root_partition()), 0, scratch() / "ext4");
  const auto read = [&](const std::string& path) {
    const auto text = cut_root.read_file(path);
    EXPECT_TRUE(text.has_value()) << path << " is missing from the root partition";
    return text.value_or("");
  };

  const auto os_release = os_release_of(read("/usr/lib/os-release"));  // /etc/os-release links to it
  EXPECT_EQ(os_release.at("VERSION_CODENAME"), "bookworm");
  EXPECT_EQ(root["osRelease"], nlohmann::json(os_release));

  std::map<std::string, DpkgPackage> reported;
  for (const nlohmann::json& p : root["packages"]) {
    const bool fresh = reported.emplace(p.at("name").get<std::string>(),
                                       DpkgPackage{p.at("version"), p.at("architecture")}).second;
    EXPECT_TRUE(fresh) << p.dump() << " is listed twice";
  }
  const auto installed = dpkg_installed(read("/var/lib/dpkg/status"), scratch());
  EXPECT_GT(installed.size(), 100u);
  EXPECT_EQ(reported, installed) << "inspect's packages are not those dpkg-query lists as installed";
  EXPECT_EQ(installed.count("iputils-ping"), 1u);

  std::map<std::string, std::string> users;
  for (const nlohmann::json& u : root["users"]) users[u.at("name").get<std::string>()] = std::to_string(u.at("uid").get<int>());
  std::map<std::string, std::string> passwd;
  for (const auto& [name, fields] : parse_colon_file(read("/etc/passwd"))) passwd[name] = fields.at(2);
  EXPECT_EQ(users, passwd);

  // The menu GRUB reads from the root, and the ESP's that sends it there.
  const std::string grub_cfg = read("/boot/grub/grub.cfg");
  const auto esp_cfg = esp().read_file("/EFI/BOOT/grub.cfg");
  ASSERT_TRUE(esp_cfg.has_value());
  std::map<std::pair<int, std::string>, std::string> configs;
  for (const nlohmann::json& c : report["boot"]["configs"]) configs[{c.at("partition").get<int>(), c.at("path").get<std::string>()}] = c.at("text");
  EXPECT_EQ(configs, (std::map<std::pair<int, std::string>, std::string>{{{1, "/EFI/BOOT/grub.cfg"}, *esp_cfg},
                                                                         {{2, "/boot/grub/grub.cfg"}, grub_cfg}}));

  const auto [kernel, cmdline] = grub_linux_line(grub_cfg);
  ASSERT_EQ(kernel.rfind("/boot/vmlinuz-", 0), 0u) << "/boot/grub/grub.cfg:\n" << grub_cfg;
  const auto kernel_file = cut_root.stat(kernel);
  ASSERT_TRUE(kernel_file.has_value()) << kernel << " is not in the root partition";
  EXPECT_GT(kernel_file->size, 1024u * 1024u) << kernel;
  EXPECT_EQ(trimmed(read("/etc/kernel/cmdline")), cmdline);
  ASSERT_EQ(report["boot"]["kernels"].size(), 1u) << report["boot"].dump(2);
  const nlohmann::json& entry = report["boot"]["kernels"][0];
  EXPECT_EQ(entry["config"], "/boot/grub/grub.cfg");
  EXPECT_EQ(entry["kernel"], kernel);
  EXPECT_EQ(entry["commandLine"], cmdline);
  EXPECT_EQ(entry["verityRootHash"], "");
  EXPECT_EQ(report["sbom"], "/usr/share/sbom/" + std::string(kBase) + ".spdx.json");
}

// The sample template makes a raw image only: a qcow2 of it made with
// qemu-img is read to the same report.
TEST_F(Debian12Image, InspectOfAQcow2OfTheImageGivesTheRawImagesReport) {
  const fs::path qcow2 = scratch() / (std::string(kBase) + ".qcow2");
  const auto started = std::chrono::steady_clock::now();
  const RunResult convert =
      run_tool({"qemu-img", "convert", "-f", "raw", "-O", "qcow2", outputs_.raw().string(), qcow2.string()},
               scratch() / "run");
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  std::cout << "[ image    ] qemu-img convert to qcow2: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";
  nlohmann::json raw = inspect_json(outputs_.raw());
  nlohmann::json converted = inspect_json(qcow2);
  EXPECT_EQ(raw["image"], outputs_.raw().string());
  EXPECT_EQ(converted["image"], qcow2.string());
  raw.erase("image");
  converted.erase("image");
  EXPECT_GT(raw["root"]["packages"].size(), 100u);
  EXPECT_EQ(converted, raw);
}

TEST_F(Debian12Image, CompareOfTheImageWithACopyIsBinaryIdentical) {
  const fs::path copy = scratch() / "copy.raw";
  sparse_copy(outputs_.raw(), copy, scratch() / "run");
  const TimedRun hashed = cli("compare --hash-images of a copy", {"compare", outputs_.raw().string(), copy.string(), "--hash-images"});
  EXPECT_EQ(hashed.result.exit_code, 0) << hashed.tail();
  EXPECT_NE(hashed.result.out.find("Equality: binary_identical (0 meaningful differences, 0 volatile)\n"),
            std::string::npos)
      << hashed.result.out;
  // Without hashing, every file of both is read and hashed: none differs.
  const TimedRun read = cli("compare --format json of a copy", {"compare", outputs_.raw().string(), copy.string(), "--format", "json"});
  EXPECT_EQ(read.result.exit_code, 0) << read.tail();
  const nlohmann::json j = parse_json_output(read);
  EXPECT_EQ(j["equality"]["class"], "semantically_identical_unverified");
  EXPECT_EQ(j["diff"], nlohmann::json::array());
  EXPECT_GT(j["from"]["files"].get<std::size_t>(), 10000u);
  EXPECT_EQ(j["to"]["files"], j["from"]["files"]);
  EXPECT_EQ(j["to"]["packages"], j["from"]["packages"]);
}

TEST_F(Debian12Image, CompareWithACopyWhoseHostnameWasEditedNamesThatOneFile) {
  const std::string before = image_file("/etc/hostname");
  const std::string after = "oic-edited\n";
  ASSERT_EQ(trimmed(before), "oic-checks");
  const auto old_inode = rootfs().stat("/etc/hostname");
  ASSERT_TRUE(old_inode.has_value());
  // The root partition cut out, the file replaced, the partition written back into a copy.
  const fs::path edit = scratch() / "edit";
  fs::create_directories(edit);
  const fs::path root_copy = edit / "root.img";
  sparse_copy(cut(root_partition()), root_copy, edit / "run");
  replace_ext4_file(root_copy, "/etc/hostname", after, old_inode->mode, edit);
  const fs::path edited = edit / "edited.raw";
  sparse_copy(outputs_.raw(), edited, edit / "run");
  write_partition(root_copy, edited, root_partition().offset, edit / "run");
  const Ext4Reader edited_root(edited, root_partition().offset, edit / "ext4");
  ASSERT_EQ(edited_root.read_file("/etc/hostname"), after);
  ASSERT_EQ(edited_root.stat("/etc/hostname"), old_inode) << "only the content was to change";
  std::ofstream(edit / "before") << before;
  std::ofstream(edit / "after") << after;
  const std::string sha_before = sha256_of(edit / "before", edit / "run");
  const std::string sha_after = sha256_of(edit / "after", edit / "run");

  const TimedRun text = cli("compare of an edited copy", {"compare", outputs_.raw().string(), edited.string()});
  EXPECT_EQ(text.result.exit_code, 1) << text.tail();
  EXPECT_EQ(text.result.out, "Comparing " + outputs_.raw().string() + " and " + edited.string() +
                                 "\nEquality: different (1 meaningful differences, 0 volatile)\n"
                                 "files (partition 2 rootfs):\n  ~ /etc/hostname  sha256 " +
                                 sha_before + " -> " + sha_after + "\n");

  const TimedRun json_run = cli("compare --format json of an edited copy", {"compare", outputs_.raw().string(), edited.string(), "--format", "json"});
  EXPECT_EQ(json_run.result.exit_code, 1) << json_run.tail();
  const nlohmann::json j = parse_json_output(json_run);
  EXPECT_EQ(j["equality"]["class"], "different");
  EXPECT_EQ(j["equality"]["meaningfulDiffs"], 1);
  EXPECT_EQ(j["equality"]["volatileDiffs"], 0);
  const nlohmann::json one_file = {{"section", "files (partition 2 rootfs)"}, {"item", "/etc/hostname"},
                                   {"change", "changed"}, {"volatile", false},
                                   {"fields", {{{"field", "sha256"}, {"from", sha_before}, {"to", sha_after}}}}};
  EXPECT_EQ(j["diff"], nlohmann::json::array({one_file}));
  EXPECT_EQ(j["summary"], nlohmann::json({{"files (partition 2 rootfs)", {{"added", 0}, {"removed", 0}, {"changed", 1}}}}));
  EXPECT_EQ(j["to"]["packages"], j["from"]["packages"]);
  EXPECT_EQ(j["to"]["files"], j["from"]["files"]);
}

// A listener on the host's 127.0.0.1 that a stage must not reach.
class HostListener {
 public:
  HostListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
    base::check_syscall(fd_.get(), "create", "a TCP socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    base::check_syscall(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), "bind", "127.0.0.1:0");
    base::check_syscall(::listen(fd_.get(), 8), "listen on", "127.0.0.1");
    socklen_t len = sizeof addr;
    base::check_syscall(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len), "read", "the port");
    port_ = ntohs(addr.sin_port);
  }
  int port() const { return port_; }
  // True when a connection is waiting (someone reached the port).
  bool was_reached() const {
    base::UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    return conn.get() >= 0;
  }

 private:
  base::UniqueFd fd_;
  int port_ = 0;
};

// The marker is computed by the shell, so finding it in the output proves
// the command's own output is shown (not just the command line).
constexpr const char* kMarker = "oic-probe-42";
constexpr const char* kMarkerCmd = "echo oic-probe-$((6*7))";

TEST_F(Debian12Image, ConfigurationCommandCannotReachTheHostNetwork) {
  const HostListener listener;
  const std::string target = "/dev/tcp/127.0.0.1/" + std::to_string(listener.port());
  const fs::path tpl = variant_template(
      "Fails_Net", {std::string(kMarkerCmd) + " && bash -c 'exec 3<>" + target + "' && echo host-network-$((6*7))"});
  const TimedRun run = workspace_->build(tpl);
  std::cout << "[ image    ] failing build (network): " << run.seconds << " s\n";
  EXPECT_EQ(run.result.exit_code, 1) << run.tail();
  EXPECT_FALSE(listener.was_reached()) << "a configuration command connected to the host's 127.0.0.1";
  EXPECT_NE(run.output().find(kMarker), std::string::npos) << "the command's output is not shown: " << run.tail();
  // Computed by the shell, so the command line quoted in the error does not match.
  EXPECT_EQ(run.output().find("host-network-42"), std::string::npos) << run.tail();
  EXPECT_NE(run.output().find(kReusingBuildEnv), std::string::npos) << "the build environment was not reused";
  expect_no_finished_outputs("Fails_Net");
}

TEST_F(Debian12Image, ConfigurationCommandCannotReadHostFiles) {
  const std::string secret = "oic-secret-" + random_token();
  const fs::path host_file = workspace_->root() / ("host-file-" + random_token());
  std::ofstream(host_file) << secret << "\n";
  const fs::path tpl = variant_template("Fails_Read", {std::string(kMarkerCmd) + " && cat " + host_file.string()});
  const TimedRun run = workspace_->build(tpl);
  std::cout << "[ image    ] failing build (host file): " << run.seconds << " s\n";
  EXPECT_EQ(run.result.exit_code, 1) << run.tail();
  EXPECT_EQ(run.output().find(secret), std::string::npos) << "the command read a host file: " << run.tail();
  EXPECT_NE(run.output().find(kMarker), std::string::npos) << "the command's output is not shown: " << run.tail();
  EXPECT_NE(run.output().find("No such file"), std::string::npos) << run.tail();
  expect_no_finished_outputs("Fails_Read");
}

// Paths whose presence, owner or mode may differ between two builds of one
// template, with why. Everything else must be identical.
const std::map<std::string, std::string> kMayDiffer = {
    {"/var/log/", "logs of the run that made the image: which files exist depends on what ran"},
    {"/var/cache/ldconfig/", "ldconfig's cache, rewritten whenever ldconfig runs"},
};

bool may_differ(const std::string& path) {
  for (const auto& [prefix, why] : kMayDiffer) {
    if (path.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

TEST_F(Debian12Image, RebuildReusesTheBuildEnvironmentAndGivesTheSameBytes) {
  const auto first = rootfs().list_tree();
  const TimedRun run = workspace_->cli({"build", checks_template().string(), "--rebuild"});
  std::cout << "[ image    ] warm rebuild: " << run.seconds << " s (first build " << build_.seconds << " s)\n";
  ASSERT_EQ(run.result.exit_code, 0) << run.tail();
  // The first build saved the environment, reused one an earlier test of
  // the same package set saved in the shared cache, or installed without it
  // while another build saved it; either way the rebuild must reuse that one.
  const std::string first_key = logged_build_env_key(build_.output());
  ASSERT_FALSE(first_key.empty()) << "the first build names no build environment: " << build_.tail();
  EXPECT_EQ(logged_build_env_key(run.output(), kReusingBuildEnv), first_key) << run.tail();
  EXPECT_EQ(run.output().find(kSavingBuildEnv), std::string::npos) << "the rebuild made a new build environment";
  // The same configured tree: its initramfs is the one the first build kept.
  rebuild_initramfs_key_ = logged_build_env_key(run.output(), kReusedInitramfs);
  EXPECT_FALSE(rebuild_initramfs_key_.empty()) << "the rebuild made its initramfs again: " << run.tail();

  ImageOutputs second{workspace_->output_dir(kProvider, kSystemName), kBase};
  const std::vector<Partition> parts = read_partition_table(second.raw(), workspace_->root() / "scratch");
  ASSERT_EQ(parts.size(), 2u);
  const auto again = Ext4Reader(second.raw(), parts[1].offset, workspace_->root() / "scratch/ext4-2").list_tree();
  std::vector<std::string> differences;
  auto describe = [](const InodeInfo& i) {
    std::ostringstream out;
    out << std::oct << i.mode << std::dec << " " << i.uid << ":" << i.gid;
    return out.str();
  };
  for (const auto& [path, info] : first) {
    if (may_differ(path)) continue;
    const auto other = again.find(path);
    if (other == again.end()) {
      differences.push_back(path + ": only in the first image");
    } else if (other->second.mode != info.mode || other->second.uid != info.uid || other->second.gid != info.gid) {
      differences.push_back(path + ": " + describe(info) + " then " + describe(other->second));
    }
  }
  for (const auto& [path, info] : again) {
    if (!may_differ(path) && first.count(path) == 0) differences.push_back(path + ": only in the rebuilt image");
  }
  EXPECT_GT(first.size(), 10000u);
  // Reproducible (docs/reproducible-builds.md): the same template and package
  // set give the same bytes, the raw image, SBOM, lockfile and merged
  // template all named by SHA256SUMS, whether the first build saved the
  // environment, reused one or installed without it (no host key is kept).
  if (read_text(second.sums()) != read_text(outputs_.sums())) {
    const TimedRun why = workspace_->cli({"compare", outputs_.raw().string(), second.raw().string(), "--mode", "diff"});
    ADD_FAILURE() << "the rebuild's outputs differ from the first's; compare (exit " << why.result.exit_code
                  << "):\n" << why.tail(60);
  }
  EXPECT_TRUE(differences.empty()) << differences.size() << " differences, the first ones:\n"
                                   << ::testing::PrintToString(std::vector<std::string>(
                                          differences.begin(),
                                          differences.begin() + std::min<std::size_t>(differences.size(), 40)));
}

// Runs after the rebuild above: the outputs on disk are that build's.
TEST_F(Debian12Image, BuildOfUnchangedInputsHandsBackTheOutputsAndAChangedImageIsRebuilt) {
  ImageOutputs outputs{workspace_->output_dir(kProvider, kSystemName), kBase};
  struct stat before {};
  ASSERT_EQ(::stat(outputs.raw().c_str(), &before), 0);
  const std::string sums = read_text(outputs.sums());

  const TimedRun same = workspace_->build(checks_template());
  std::cout << "[ image    ] build of unchanged inputs: " << same.seconds << " s\n";
  ASSERT_EQ(same.result.exit_code, 0) << same.tail();
  EXPECT_NE(same.output().find("are up to date"), std::string::npos) << same.tail();
  EXPECT_EQ(same.output().find(kReusingBuildEnv), std::string::npos)
      << "nothing should have been installed: " << same.tail();
  struct stat after {};
  ASSERT_EQ(::stat(outputs.raw().c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(read_text(outputs.sums()), sums);

  // The next build makes its initramfs again: a made one and a reused one
  // must give the same disk (the rebuild above reused it).
  if (!rebuild_initramfs_key_.empty()) {
    fs::remove(kept_initramfs_dir() / rebuild_initramfs_key_);
    fs::remove(kept_initramfs_dir() / (rebuild_initramfs_key_ + ".touched"));
  }

  // What `boot` without a snapshot does to an image: bytes change in place.
  {
    std::fstream raw(outputs.raw(), std::ios::in | std::ios::out | std::ios::binary);
    raw.seekp(static_cast<std::streamoff>(before.st_size / 2));
    raw.put('\x5a');
  }
  const TimedRun changed = workspace_->build(checks_template());
  std::cout << "[ image    ] build after the image changed: " << changed.seconds << " s\n";
  ASSERT_EQ(changed.result.exit_code, 0) << changed.tail();
  EXPECT_NE(changed.output().find(std::string(kBase) + ".raw changed since it was built"), std::string::npos)
      << changed.tail();
  EXPECT_NE(changed.output().find(kReusingBuildEnv), std::string::npos) << changed.tail();
  EXPECT_EQ(changed.output().find(kReusedInitramfs), std::string::npos) << "the removed initramfs was reused";
  // Rebuilt, not handed back: the changed byte is gone, and the same inputs
  // (one lockfile, one time) gave the same bytes (docs/reproducible-builds.md).
  EXPECT_EQ(read_text(outputs.sums()), sums) << "the rebuilt image differs from the first build of these inputs";
  for (const auto& [name, hash] : parse_sha256sums(read_text(outputs.sums()))) {
    EXPECT_EQ(sha256_of(outputs.dir / name, workspace_->root() / "scratch/sha"), hash) << name;
  }
}

}  // namespace
}  // namespace tests::image
