// The readers the image tests rely on, checked on a disk made here by hand
// (sfdisk, mkfs.ext4 -d -E offset=, debugfs -w for owners and xattrs,
// mkfs.vfat --offset, mtools) and on fixed text, so that a failing image
// test points at the image, not at its inspection.
#include "tests/image/disk_inspect.hpp"

#include <stdlib.h>

#include <fstream>

#include <gtest/gtest.h>

#include "base/error.hpp"

namespace tests::image {
namespace {
namespace fs = std::filesystem;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kEspOffset = 1 * kMiB;
constexpr std::uint64_t kEspSize = 128 * kMiB;
constexpr std::uint64_t kRootOffset = 129 * kMiB;
constexpr std::uint64_t kDiskSize = 200 * kMiB;
const char* const kRootUuid = "3f0c4c8e-8a44-4c7d-9d0e-2a7b5d4c1e6f";
const char* const kFatSerial = "1234ABCD";
const char* const kShadow = "root:$6$salt$hash:19000:0:99999:7:::\n";
// cap_net_raw (bit 13) permitted and effective, as `setcap cap_net_raw+ep` writes it (v2).
const std::string kPingCaps("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

void run_ok(std::vector<std::string> argv, const fs::path& scratch, const fs::path& input = "/dev/null") {
  const std::string what = argv[0];
  const RunResult r = run_tool(std::move(argv), scratch, input);
  ASSERT_EQ(r.exit_code, 0) << what << ": " << r.out << r.err;
}

// One disk for every test: GPT with an ESP (FAT32) and a root (ext4).
class HandMadeDisk : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "oic-disk-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    disk_ = root_ / "disk.raw";
    const fs::path tree = root_ / "tree";
    write_file(tree / "etc/shadow", kShadow);
    write_file(tree / "etc/fstab", "# comment\nUUID=x / ext4 defaults 0 1\n");
    write_file(tree / "usr/bin/passwd", "passwd");
    write_file(tree / "usr/bin/ping", "ping");
    write_file(tree / "usr/share/a dir with spaces/file", "spaced");
    fs::create_directories(tree / "var/empty");
    write_file(root_ / "caps.bin", kPingCaps);
    write_file(root_ / "esp/BOOTX64.EFI", "MZ not really a PE file");

    const fs::path scratch = root_ / "scratch";
    { std::ofstream(disk_).close(); }
    fs::resize_file(disk_, kDiskSize);
    write_file(root_ / "table.sfdisk",
               "label: gpt\n"
               "start=2048, size=262144, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\n"
               "start=264192, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root\n");
    run_ok({"sfdisk", "-q", disk_.string()}, scratch, root_ / "table.sfdisk");
    const std::uint64_t root_kib = (kDiskSize - kRootOffset) / 1024 - 64;  // leave the backup GPT alone
    run_ok({"mkfs.ext4", "-q", "-F", "-U", kRootUuid, "-d", tree.string(), "-E",
            "offset=" + std::to_string(kRootOffset) + ",root_owner=0:0", disk_.string(),
            std::to_string(root_kib) + "k"},
           scratch);
    // Unprivileged, mkfs.ext4 -d records the caller's ids: set the real ones.
    write_file(root_ / "fix.debugfs",
               "sif /etc/shadow uid 0\nsif /etc/shadow gid 42\nsif /etc/shadow mode 0100640\n"
               "sif /usr/bin/passwd uid 0\nsif /usr/bin/passwd gid 0\nsif /usr/bin/passwd mode 0104755\n"
               "ea_set -f " + (root_ / "caps.bin").string() + " /usr/bin/ping security.capability\n");
    run_ok({"debugfs", "-w", "-f", (root_ / "fix.debugfs").string(),
            disk_.string() + "?offset=" + std::to_string(kRootOffset)},
           scratch);
    run_ok({"mkfs.vfat", "--offset", std::to_string(kEspOffset / 512), "-F", "32", "-s", "1", "-i", kFatSerial,
            "-n", "ESP", disk_.string(), std::to_string(kEspSize / 1024)},
           scratch);
    const std::string drive = disk_.string() + "@@" + std::to_string(kEspOffset);
    run_ok({"mmd", "-i", drive, "::/EFI", "::/EFI/BOOT"}, scratch);
    run_ok({"mcopy", "-i", drive, (root_ / "esp/BOOTX64.EFI").string(), "::/EFI/BOOT/BOOTX64.EFI"}, scratch);
  }

  static void TearDownTestSuite() {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  void SetUp() override {
    if (HasFatalFailure()) GTEST_SKIP();
    ASSERT_TRUE(fs::exists(disk_)) << "the hand-made disk could not be made";
  }

  static Ext4Reader rootfs() { return Ext4Reader(disk_, kRootOffset, root_ / "ext4"); }
  static FatReader esp() { return FatReader(disk_, kEspOffset, root_ / "fat"); }

  static inline fs::path root_;
  static inline fs::path disk_;
};

TEST_F(HandMadeDisk, PartitionTableGivesOffsetsTypesAndNames) {
  const std::vector<Partition> parts = read_partition_table(disk_, root_ / "scratch");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].number, 1);
  EXPECT_EQ(parts[0].offset, kEspOffset);
  EXPECT_EQ(parts[0].size, kEspSize);
  EXPECT_EQ(parts[0].type, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
  EXPECT_EQ(parts[0].name, "esp");
  EXPECT_EQ(parts[1].number, 2);
  EXPECT_EQ(parts[1].offset, kRootOffset);
  EXPECT_EQ(parts[1].type, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
  EXPECT_EQ(parts[1].uuid.size(), 36u);
}

TEST_F(HandMadeDisk, ProbeGivesTheUuidsFstabUses) {
  const FsProbe root = probe_filesystem(disk_, kRootOffset, root_ / "scratch");
  EXPECT_EQ(root.type, "ext4");
  EXPECT_EQ(root.uuid, kRootUuid);
  const FsProbe fat = probe_filesystem(disk_, kEspOffset, root_ / "scratch");
  EXPECT_EQ(fat.type, "vfat");
  EXPECT_EQ(fat.uuid, "1234-ABCD");
  EXPECT_EQ(fat.label, "ESP");
}

TEST_F(HandMadeDisk, Ext4StatGivesOwnersAndModes) {
  const auto shadow = rootfs().stat("/etc/shadow");
  ASSERT_TRUE(shadow.has_value());
  EXPECT_EQ(shadow->uid, 0u);
  EXPECT_EQ(shadow->gid, 42u);
  EXPECT_EQ(shadow->permissions(), 0640u);
  EXPECT_TRUE(shadow->is_regular());
  EXPECT_EQ(shadow->size, std::string(kShadow).size());
  const auto passwd = rootfs().stat("/usr/bin/passwd");
  ASSERT_TRUE(passwd.has_value());
  EXPECT_EQ(passwd->permissions(), 04755u);
  const auto spaced = rootfs().stat("/usr/share/a dir with spaces/file");
  ASSERT_TRUE(spaced.has_value());
  EXPECT_TRUE(rootfs().stat("/var/empty")->is_dir());
  EXPECT_FALSE(rootfs().stat("/etc/no-such-file").has_value());
}

TEST_F(HandMadeDisk, Ext4ReadsFilesAndExtendedAttributes) {
  EXPECT_EQ(rootfs().read_file("/etc/shadow"), std::optional<std::string>(kShadow));
  EXPECT_EQ(rootfs().read_file("/usr/share/a dir with spaces/file"), std::optional<std::string>("spaced"));
  EXPECT_FALSE(rootfs().read_file("/etc/no-such-file").has_value());
  const auto caps = rootfs().xattr("/usr/bin/ping", "security.capability");
  ASSERT_TRUE(caps.has_value());
  EXPECT_EQ(*caps, kPingCaps);
  EXPECT_FALSE(rootfs().xattr("/usr/bin/passwd", "security.capability").has_value());
}

TEST_F(HandMadeDisk, Ext4TreeListsEveryPathWithItsInode) {
  const std::map<std::string, InodeInfo> tree = rootfs().list_tree();
  for (const char* path : {"/etc", "/etc/shadow", "/etc/fstab", "/usr/bin/passwd", "/usr/bin/ping",
                           "/usr/share/a dir with spaces", "/usr/share/a dir with spaces/file", "/var/empty",
                           "/lost+found"}) {
    EXPECT_EQ(tree.count(path), 1u) << path;
  }
  std::string paths;
  for (const auto& [path, info] : tree) paths += path + "\n";
  EXPECT_EQ(tree.size(), 13u) << paths;  // the 9 above plus /usr, /usr/bin, /usr/share, /var
  ASSERT_EQ(tree.count("/etc/shadow"), 1u);
  EXPECT_EQ(tree.at("/etc/shadow"), *rootfs().stat("/etc/shadow"));
}

TEST_F(HandMadeDisk, FatListsAndReadsTheEsp) {
  const std::vector<std::string> paths = esp().list_tree();
  EXPECT_EQ(paths, (std::vector<std::string>{"/EFI/", "/EFI/BOOT/", "/EFI/BOOT/BOOTX64.EFI"}));
  EXPECT_EQ(esp().read_file("/EFI/BOOT/BOOTX64.EFI"), std::optional<std::string>("MZ not really a PE file"));
  EXPECT_FALSE(esp().read_file("/EFI/BOOT/grub.cfg").has_value());
}

TEST(DebugfsStat, ParsesModeOwnerAndSize) {
  const auto info = parse_debugfs_stat(
      "Inode: 16   Type: regular    Mode:  0640   Flags: 0x80000\n"
      "Generation: 0    Version: 0x00000000:00000000\n"
      "User:     0   Group:    42   Project:     0   Size: 35\n");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->mode, 0100640u);
  EXPECT_EQ(info->gid, 42u);
  EXPECT_EQ(info->size, 35u);
  EXPECT_FALSE(parse_debugfs_stat("/x: File not found by ext2_lookup\n").has_value());
}

TEST(DebugfsListing, AttributesEntriesToTheirDirectoryAndSkipsDots) {
  const auto listings = parse_debugfs_listings(
      "debugfs: ls -p <2>\n/2/040755/0/0/.//\n/2/040755/0/0/..//\n/14/040755/0/0/etc//\n\n"
      "debugfs: ls -p <14>\n/16/100640/0/42/shadow/35/\n/0/000000/0/0//0/\n");
  ASSERT_EQ(listings.size(), 2u);
  EXPECT_EQ(listings.at("<2>").size(), 1u);
  EXPECT_EQ(listings.at("<2>").at("etc").inode, 14u);
  EXPECT_EQ(listings.at("<14>").at("shadow").info, (InodeInfo{0100640, 0, 42, 35}));
}

struct CapsCase {
  const char* name;
  std::string bytes;
  std::optional<int> version;
  std::uint64_t permitted;
  bool effective;
};

TEST(FileCapabilities, DecodeVersionsAndRejectOtherData) {
  const std::vector<CapsCase> cases = {
      {"v2 cap_net_raw+ep", kPingCaps, 2, 1u << 13, true},
      {"v3 cap_net_admin+p rootid 1000",
       std::string("\x00\x00\x00\x03\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe8\x03\x00\x00", 24),
       3, 1u << 12, false},
      {"v2 with a v3 length", kPingCaps + std::string(4, '\0'), std::nullopt, 0, false},
      {"unknown version", std::string("\x01\x00\x00\x05", 4) + std::string(16, '\0'), std::nullopt, 0, false},
      {"text", "cap_net_raw+ep", std::nullopt, 0, false},
  };
  for (const CapsCase& c : cases) {
    const auto caps = decode_file_caps(c.bytes);
    ASSERT_EQ(caps.has_value(), c.version.has_value()) << c.name;
    if (!caps) continue;
    EXPECT_EQ(caps->version, *c.version) << c.name;
    EXPECT_EQ(caps->permitted, c.permitted) << c.name;
    EXPECT_EQ(caps->effective, c.effective) << c.name;
  }
  EXPECT_EQ(decode_file_caps(cases[1].bytes)->rootid, std::optional<std::uint32_t>(1000));
}

TEST(Fstab, SkipsCommentsAndBlankLines) {
  const auto entries = parse_fstab("# /etc/fstab\n\nUUID=abc /  ext4 defaults 0 1\n"
                                   "UUID=12AB-34CD\t/boot/efi vfat umask=0077 0 2\n");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].spec, "UUID=abc");
  EXPECT_EQ(entries[0].mount_point, "/");
  EXPECT_EQ(entries[1].type, "vfat");
  EXPECT_EQ(entries[1].options, "umask=0077");
}

TEST(ColonFile, KeysLinesByNameAndKeepsEmptyFields) {
  const auto shadow = parse_colon_file("root:*:19000:0:99999:7:::\ndebian:$6$x$y:19000::::::\n");
  ASSERT_EQ(shadow.count("debian"), 1u);
  EXPECT_EQ(shadow.at("debian")[1], "$6$x$y");
  EXPECT_EQ(shadow.at("root").size(), 9u);
}

TEST(Sha256Sums, ParsesBothModesAndMatchesSha256sum) {
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const auto sums = parse_sha256sums(abc + "  a.raw\n" + abc + " *b.spdx.json\n");
  EXPECT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums.at("b.spdx.json"), abc);
  EXPECT_THROW(parse_sha256sums("not a sum line\n"), base::Error);
  const fs::path dir = fs::temp_directory_path() / ("oic-sha-" + std::to_string(::getpid()));
  write_file(dir / "abc", "abc");
  EXPECT_EQ(sha256_of(dir / "abc", dir / "run"), abc);
  fs::remove_all(dir);
}

TEST(SpdxSchema, AcceptsTheSpecExampleAndNamesWhatIsWrongInABrokenOne) {
  const char* source = std::getenv("OIC_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  const fs::path data = fs::path(source) / "tests/data/spdx";
  const fs::path scratch = fs::temp_directory_path() / ("oic-spdx-" + std::to_string(::getpid()));
  EXPECT_EQ(json_schema_errors(data / "spdx-2.3-schema.json", data / "SPDXJSONExample-v2.3.spdx.json", scratch), "");
  // A package without its required SPDXID.
  write_file(scratch / "broken.json",
             R"({"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"x",)"
             R"("documentNamespace":"https://example.org/x","creationInfo":{"created":"2024-01-01T00:00:00Z",)"
             R"("creators":["Tool: t"]},"packages":[{"name":"p","downloadLocation":"NOASSERTION"}]})");
  const std::string errors = json_schema_errors(data / "spdx-2.3-schema.json", scratch / "broken.json", scratch);
  EXPECT_NE(errors.find("SPDXID"), std::string::npos) << errors;
  EXPECT_NE(errors.find("packages/0"), std::string::npos) << errors;
  fs::remove_all(scratch);
}

}  // namespace
}  // namespace tests::image
